#include "fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "base/sha256.h"

int hv_fetch_global_init(struct vj_err *err)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK)
		return vj_err_set(err, EIO, "libcurl init: %s", curl_easy_strerror(rc));
	return 0;
}

static CURL *easy_for(const char *url, char *errbuf)
{
	CURL *c = curl_easy_init();
	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
	/* A stalled server fails the transfer instead of hanging a CREATE forever. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "vmjob-hvd/1");
	errbuf[0] = '\0';
	return c;
}

static int transfer_error(struct vj_err *err, CURLcode rc, const char *errbuf, const char *url)
{
	return vj_err_set(err, EIO, "cannot fetch %s: %s", url,
			  errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

struct membuf {
	char *data;
	size_t len, max;
	bool too_big;
};

static size_t mem_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct membuf *m = ud;
	size_t n = size * nmemb;
	if (n > m->max - m->len) {
		m->too_big = true;
		return 0; /* aborts the transfer */
	}
	char *nd = realloc(m->data, m->len + n + 1);
	if (!nd)
		return 0;
	m->data = nd;
	memcpy(m->data + m->len, ptr, n);
	m->len += n;
	m->data[m->len] = '\0';
	return n;
}

int hv_fetch_mem(const char *url, size_t max, char **out, size_t *outlen, struct vj_err *err)
{
	char errbuf[CURL_ERROR_SIZE];
	CURL *c = easy_for(url, errbuf);
	if (!c)
		return vj_err_set(err, ENOMEM, "libcurl: cannot create a handle");
	struct membuf m = {.max = max};
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mem_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &m);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	if (m.too_big) {
		free(m.data);
		return vj_err_set(err, EFBIG, "cannot fetch %s: larger than %zu bytes", url, max);
	}
	if (rc != CURLE_OK) {
		free(m.data);
		return transfer_error(err, rc, errbuf, url);
	}
	if (!m.data && !(m.data = calloc(1, 1)))
		return vj_err_set(err, ENOMEM, "out of memory");
	*out = m.data;
	*outlen = m.len;
	return 0;
}

struct filesink {
	int fd;
	struct hv_sha256 *h;
	uint64_t bytes;
	int werr;
};

static size_t file_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct filesink *s = ud;
	size_t n = size * nmemb;
	struct vj_err err;
	if (vj_write_all(s->fd, ptr, n, &err)) {
		s->werr = err.code;
		return 0;
	}
	hv_sha256_update(s->h, ptr, n);
	s->bytes += n;
	return n;
}

int hv_fetch_append(const char *url, int fd, uint64_t offset, struct hv_sha256 *h,
		    uint64_t *bytes, struct vj_err *err)
{
	char errbuf[CURL_ERROR_SIZE];
	struct filesink s = {.fd = fd, .h = h};
	*bytes = 0;
	/* Whatever lies past offset (a torn write before a crash) is not trusted. */
	if (ftruncate(fd, (off_t)offset) < 0 || lseek(fd, (off_t)offset, SEEK_SET) < 0)
		return vj_err_sys(err, errno, "cannot prepare the download of %s", url);
	CURL *c = easy_for(url, errbuf);
	if (!c)
		return vj_err_set(err, ENOMEM, "libcurl: cannot create a handle");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, file_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	/* HTTP: a Range request; file://: a seek. A server that ignores the
	 * range makes libcurl fail (CURLE_RANGE_ERROR) rather than append the
	 * whole body again, so a resumed file is never silently doubled. */
	if (offset)
		curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)offset);
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	*bytes = s.bytes;
	if (s.werr)
		return vj_err_sys(err, s.werr, "cannot write the download of %s", url);
	if (rc == CURLE_OK)
		return 0;
	transfer_error(err, rc, errbuf, url);
	if (offset && (rc == CURLE_RANGE_ERROR || rc == CURLE_BAD_DOWNLOAD_RESUME || status == 416))
		err->code = ERANGE;
	return -1;
}

int hv_url_resolve(const char *base, const char *ref, char *out, size_t outsz, struct vj_err *err)
{
	CURLU *u = curl_url();
	if (!u)
		return vj_err_set(err, ENOMEM, "out of memory");
	char *full = NULL;
	int rc = 0;
	/* Setting a relative URL on a handle that holds base resolves it. */
	if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_URL, ref, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK)
		rc = vj_err_set(err, EINVAL, "cannot resolve '%s' against %s", ref, base);
	else if (strlen(full) >= outsz)
		rc = vj_err_set(err, ENAMETOOLONG, "URL too long: %s", full);
	else
		strcpy(out, full);
	curl_free(full);
	curl_url_cleanup(u);
	return rc;
}
