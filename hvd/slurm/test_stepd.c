/* Finding a job's extern step socket, and what hvd says when the peer on it
 * does not behave like slurmstepd. (The real slurmstepd is exercised by
 * tests/e2e/98-accounting.sh.) */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "slurm/stepd.h"

static char dir[] = "/tmp/vmjob-test-stepd.XXXXXX";

static int listen_at(const char *name)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, name);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4))
		abort();
	return fd;
}

/* A peer that answers the hello with `answer` then closes. */
struct peer { int lfd, answer; };
static void *peer_main(void *arg)
{
	struct peer *p = arg;
	int c = accept(p->lfd, NULL, NULL), hello;
	if (c >= 0 && read(c, &hello, sizeof(hello)) == sizeof(hello) && p->answer != 999)
		(void)!write(c, &p->answer, sizeof(p->answer));
	if (c >= 0)
		close(c);
	return NULL;
}

static int adopt_with(int answer, const char *job, struct vj_err *err)
{
	char name[64];
	snprintf(name, sizeof(name), "node1_%s.4294967292", job);
	struct peer p = {listen_at(name), answer};
	pthread_t t;
	pthread_create(&t, NULL, peer_main, &p);
	int rc = hv_stepd_adopt(dir, job, 4242, err);
	pthread_join(t, NULL);
	close(p.lfd);
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	return rc;
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	char path[256];
	struct vj_err err = {0};
	/* none: the job has no extern step here; the message says what to set */
	CHECK(hv_stepd_extern_path(dir, "17", path, sizeof(path), &err) == -1 && err.code == ENOENT &&
	      strstr(err.msg, "PrologFlags=Contain"));
	/* a job name that is no Slurm id never reaches the glob */
	CHECK(hv_stepd_extern_path(dir, "*", path, sizeof(path), &err) == -1 && err.code == ENOENT);
	CHECK(hv_stepd_extern_path(dir, "", path, sizeof(path), &err) == -1);
	/* one: found, whatever the node's name; another job's and the batch
	 * step's sockets are not it */
	int a = listen_at("node1_17.4294967292"), b = listen_at("node1_170.4294967292"),
	    c = listen_at("node1_17.4294967291");
	CHECK(hv_stepd_extern_path(dir, "17", path, sizeof(path), &err) == 0 &&
	      !strcmp(strrchr(path, '/'), "/node1_17.4294967292"));
	/* two slurmd sharing one spool directory: refused, not guessed */
	int d = listen_at("node2_17.4294967292");
	CHECK(hv_stepd_extern_path(dir, "17", path, sizeof(path), &err) == -1 && err.code == EEXIST &&
	      strstr(err.msg, "slurmd_spool_dir"));
	close(a), close(b), close(c), close(d);
	system("rm -f /tmp/vmjob-test-stepd.*/node*");

	/* nothing listening on a stale socket file */
	int s = listen_at("node1_21.4294967292");
	close(s);
	CHECK(hv_stepd_adopt(dir, "21", 4242, &err) == -1 && strstr(err.msg, "cannot reach job 21"));
	snprintf(path, sizeof(path), "%s/node1_21.4294967292", dir);
	unlink(path);
	/* a peer that refuses the hello (slurmstepd answers -1), or hangs up */
	CHECK(adopt_with(-1, "22", &err) == -1 && strstr(err.msg, "refused hvd's hello"));
	CHECK(adopt_with(999, "23", &err) == -1 && strstr(err.msg, "did not answer"));
	/* a peer that greets and then closes: the pid was not taken */
	CHECK(adopt_with(9728, "24", &err) == -1 && strstr(err.msg, "did not take pid 4242"));
	CHECK(hv_stepd_sample(dir, "25", &err) == -1 && err.code == ENOENT);
	rmdir(dir);
	return CHECK_DONE();
}
