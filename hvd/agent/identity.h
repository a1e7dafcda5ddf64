/* The job owner's identity for the guest (DESIGN principle 6: the VM is a
 * worker node): name, home, login shell and the names of the caller's
 * groups, from the host's NSS, so LDAP and SSSD users look the same in the
 * VM as on a node. Sent with every EXEC (docs/internals.md, "EXEC"); the
 * agent gives the guest's /etc/passwd and /etc/group this one user and
 * nothing else of the host's. */
#ifndef HV_IDENTITY_H
#define HV_IDENTITY_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "kv.h"

/* Append user, home, shell and one gname ("GID:NAME") per named group of
 * gid and groups to kv. Root and a uid NSS does not know add nothing (the
 * guest shows the number, as a host would). Values a passwd or group file
 * cannot hold (':' or a newline, a name of odd characters) are left out. */
void hv_identity_add(struct vj_kvbuf *kv, uid_t uid, gid_t gid, const gid_t *groups, size_t n);

#endif
