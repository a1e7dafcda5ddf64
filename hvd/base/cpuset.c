#include "cpuset.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CPU 65535u

static int num(const char **p, unsigned *out)
{
	const char *s = *p;
	unsigned long v = 0;
	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > MAX_CPU)
			return -1;
		s++;
	}
	*out = (unsigned)v;
	*p = s;
	return 0;
}

int hv_cpulist_parse(const char *s, unsigned *cpus, size_t max, size_t *n)
{
	*n = 0;
	while (*s && *s != '\n') {
		unsigned a, b;
		if (num(&s, &a))
			return -1;
		b = a;
		if (*s == '-') {
			s++;
			if (num(&s, &b) || b < a)
				return -1;
		}
		for (unsigned c = a; c <= b; c++) {
			if (*n == max)
				return -1;
			cpus[(*n)++] = c;
		}
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return -1;
	}
	return 0;
}

static bool node_has(const char *dir, const char *node, const unsigned *cores, size_t ncores)
{
	char path[512], line[4096];
	snprintf(path, sizeof(path), "%s/%s/cpulist", dir, node);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool hit = false;
	if (fgets(line, sizeof(line), f)) {
		static __thread unsigned tcpus[4096]; /* off the stack: threads have small ones */
		size_t n;
		if (hv_cpulist_parse(line, tcpus, 4096, &n) == 0)
			for (size_t i = 0; i < n && !hit; i++)
				for (size_t j = 0; j < ncores && !hit; j++)
					hit = tcpus[i] == cores[j];
	}
	fclose(f);
	return hit;
}

void hv_numa_nodes_of(const char *dir, const char *cores, char *out, size_t outsz)
{
	out[0] = '\0';
	unsigned c[1024];
	size_t nc;
	if (!cores || !*cores || hv_cpulist_parse(cores, c, 1024, &nc) || nc == 0)
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	/* Collect node numbers, then print them sorted. */
	bool used[1024] = {false};
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		if (strncmp(e->d_name, "node", 4))
			continue;
		unsigned long id = strtoul(e->d_name + 4, &end, 10);
		if (end == e->d_name + 4 || *end || id >= 1024)
			continue;
		if (node_has(dir, e->d_name, c, nc))
			used[id] = true;
	}
	closedir(d);
	size_t len = 0;
	for (unsigned i = 0; i < 1024; i++) {
		if (!used[i])
			continue;
		int w = snprintf(out + len, outsz - len, "%s%u", len ? "," : "", i);
		if (w < 0 || (size_t)w >= outsz - len) {
			out[0] = '\0'; /* never a truncated list */
			return;
		}
		len += (size_t)w;
	}
}
