/* Host commands from a guest (hostcmd.c): the allow-list, the environment
 * filter, and a refused request answered with one ERROR on its stream. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "cleanup.h"
#include "hostcmd.h"
#include "kv.h"

static void test_lists(void)
{
	CHECK(vj_hostcmd_allowed("srun") && vj_hostcmd_allowed("sbatch") &&
	      vj_hostcmd_allowed("scontrol") && vj_hostcmd_allowed("sstat"));
	CHECK(!vj_hostcmd_allowed("sh") && !vj_hostcmd_allowed("salloc") &&
	      !vj_hostcmd_allowed("/usr/bin/srun") && !vj_hostcmd_allowed(""));
	CHECK(vj_hostcmd_env_allowed("SLURM_JOB_ID=7"));
	CHECK(vj_hostcmd_env_allowed("SBATCH_PARTITION=debug"));
	CHECK(vj_hostcmd_env_allowed("SRUN_CPUS_PER_TASK=2"));
	CHECK(!vj_hostcmd_env_allowed("SLURM_CONF=/tmp/evil.conf"));
	CHECK(!vj_hostcmd_env_allowed("LD_PRELOAD=/tmp/x.so"));
	CHECK(!vj_hostcmd_env_allowed("PATH=/tmp"));
	CHECK(!vj_hostcmd_env_allowed("SLURM_=x"));
	CHECK(!vj_hostcmd_env_allowed("SLURM_JOB_ID"));
	CHECK(!vj_hostcmd_env_allowed("SLURM_x-y=1"));
	CHECK(!vj_hostcmd_env_allowed("HOME=/root"));
}

/* A request hvd passes on; the answer vmexec sends back on that stream. */
static int ask(const char *cmd, uint16_t *type, char *msg, size_t msz)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -1;
	struct vj_hostcmds *hc = vj_hostcmds_new(sv[0]);
	cleanup_kv struct vj_kvbuf kv = VJ_KV_INIT;
	vj_kv_add_str(&kv, "arg", cmd);
	vj_kv_add_str(&kv, "env", "LD_PRELOAD=/x");
	struct vj_frame f = {.type = VJ_HOSTCMD, .stream = VJ_HOST_STREAM | 5, .payload = kv.data,
			     .len = (uint32_t)kv.len};
	vj_hostcmds_frame(hc, &f);
	struct vj_reader rd;
	vj_reader_init(&rd, VJ_FRAME_MAX);
	struct vj_frame r;
	int rc = vj_frame_read(sv[1], &rd, &r, 2000, NULL);
	if (rc == 1) {
		*type = r.type;
		vj_kv_get_str(r.payload, r.len, "msg", msg, msz, "", NULL);
		rc = r.stream == (VJ_HOST_STREAM | 5) ? 0 : -1;
		free(r.payload);
	}
	vj_reader_free(&rd);
	vj_hostcmds_free(hc);
	close(sv[0]);
	close(sv[1]);
	return rc;
}

int main(void)
{
	test_lists();
	uint16_t type = 0;
	char msg[512] = "";
	CHECK(ask("sh", &type, msg, sizeof(msg)) == 0 && type == VJ_ERROR);
	CHECK(strstr(msg, "sh cannot run on the host from a VM"));
	CHECK(ask("/usr/bin/srun", &type, msg, sizeof(msg)) == 0 && type == VJ_ERROR);
	return CHECK_DONE();
}
