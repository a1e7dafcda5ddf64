/* Every default path vmjob compiles in, defined once. The directories come
 * from the Makefile (PREFIX, SYSCONFDIR, LOCALSTATEDIR, RUNSTATEDIR,
 * LIBEXECDIR); hvd.conf and plugstack.conf arguments override them at run
 * time. docs/internals.md lists them with what lives there. */
#ifndef VJ_PATHS_H
#define VJ_PATHS_H

#ifndef VJ_SYSCONFDIR
#define VJ_SYSCONFDIR "/etc"
#endif
#ifndef VJ_LOCALSTATEDIR
#define VJ_LOCALSTATEDIR "/var"
#endif
#ifndef VJ_RUNSTATEDIR
#define VJ_RUNSTATEDIR "/run"
#endif
#ifndef VJ_DATADIR
#define VJ_DATADIR "/usr/local/share/vmjob"
#endif
#ifndef VJ_LIBEXECDIR
#define VJ_LIBEXECDIR "/usr/local/libexec/vmjob"
#endif

/* hvd's request socket: every client (vmjob.so, vmexec, hvctl) and hvd. */
#define VJ_DEFAULT_SOCKET VJ_RUNSTATEDIR "/vmjob/hvd.sock"
#define VJ_DEFAULT_CONFIG VJ_SYSCONFDIR "/vmjob/hvd.conf"
#define VJ_DEFAULT_RUN_DIR VJ_RUNSTATEDIR "/vmjob"
#define VJ_DEFAULT_STATE_DIR VJ_LOCALSTATEDIR "/lib/vmjob"
#define VJ_DEFAULT_CACHE_DIR VJ_LOCALSTATEDIR "/cache/vmjob/images"
#define VJ_DEFAULT_PIDFILE VJ_RUNSTATEDIR "/vmjob/hvd.pid"
/* Helper programs hvd and the plugin start. */
#define VJ_VMEXEC VJ_LIBEXECDIR "/vmexec"
#define VJ_VMFS_SERVER VJ_LIBEXECDIR "/vmfs-server"
#define VJ_VMRELAY VJ_LIBEXECDIR "/vmrelay"
/* What vmjob-image puts into an image: the guest programs and their boot
 * hooks as a tarball (images/kit.sh). */
#define VJ_GUEST_KIT VJ_DATADIR "/guest-kit.tar"

/* Inside a guest (fixed: images are built apart from any host's prefix). */
#define VJ_GUEST_HOST_DIR "/run/vmjob"
/* The agent's socket for host commands (srun & co in the VM). */
#define VJ_GUEST_HOST_SOCK VJ_GUEST_HOST_DIR "/host.sock"

#endif
