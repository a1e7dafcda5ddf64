/* The request socket: one thread per client connection, each request
 * authorised with the peer's SO_PEERCRED credentials. */
#ifndef HV_SERVER_H
#define HV_SERVER_H

#include "base/config.h"
#include "err.h"

/* Bind cfg->socket (mode 0666), refusing if another hvd answers on it. */
int hv_server_listen(const struct hv_config *cfg, struct vj_err *err);
/* Accept until a signal arrives on sigfd (a signalfd). Returns 0. */
int hv_server_run(const struct hv_config *cfg, int lfd, int sigfd);

#endif
