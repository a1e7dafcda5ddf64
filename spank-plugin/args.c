/* plugstack.conf arguments: `required .../vmjob.so [socket=PATH] [vmexec=PATH]
 * [policy=strict|lenient]`.
 * Unknown keys are rejected so a typo fails loudly at configuration time
 * rather than silently running with defaults. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "paths.h"
#include "vmjob.h"

static int set_path(char *dst, size_t dstsz, const char *key, const char *val, struct vj_err *err)
{
	if (val[0] != '/')
		return vj_err_set(err, EINVAL, "plugstack argument %s=%s: must be an absolute path",
				  key, val);
	if (strlen(val) >= dstsz)
		return vj_err_set(err, ENAMETOOLONG, "plugstack argument %s=%s: path too long", key,
				  val);
	strcpy(dst, val);
	return 0;
}

int vmjob_args_parse(int ac, char **av, struct vmjob_conf *conf, struct vj_err *err)
{
	snprintf(conf->socket, sizeof(conf->socket), "%s", VJ_DEFAULT_SOCKET);
	snprintf(conf->vmexec, sizeof(conf->vmexec), "%s", VJ_VMEXEC);
	conf->policy_strict = false;

	for (int i = 0; i < ac; i++) {
		const char *a = av[i];
		const char *eq = strchr(a, '=');
		if (!eq)
			return vj_err_set(err, EINVAL, "plugstack argument '%s': expected key=value", a);
		size_t klen = (size_t)(eq - a);
		const char *val = eq + 1;
		int rc;
		if (klen == 6 && !strncmp(a, "socket", klen))
			rc = set_path(conf->socket, sizeof(conf->socket), "socket", val, err);
		else if (klen == 6 && !strncmp(a, "vmexec", klen))
			rc = set_path(conf->vmexec, sizeof(conf->vmexec), "vmexec", val, err);
		else if (klen == 6 && !strncmp(a, "policy", klen)) {
			rc = 0;
			if (!strcmp(val, "strict") || !strcmp(val, "lenient"))
				conf->policy_strict = !strcmp(val, "strict");
			else
				rc = vj_err_set(err, EINVAL, "plugstack argument policy=%s: strict or lenient",
						val);
		} else
			rc = vj_err_set(err, EINVAL,
					"unknown plugstack argument '%.*s' (known: socket, vmexec, policy)",
					(int)klen, a);
		if (rc < 0)
			return -1;
	}
	return 0;
}
