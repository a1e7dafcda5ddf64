/* A fixed amount of CPU work for the accounting benchmark
 * (tests/bench/accounting.sh): burn N [THREADS] runs N million rounds of an
 * integer recurrence on each of THREADS threads and prints the wall time.
 * Static, so the same binary runs on the host and in any guest. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static unsigned long long rounds;

static void *burn(void *arg)
{
	unsigned long long x = (unsigned long long)(size_t)arg + 1;
	for (unsigned long long i = 0; i < rounds; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	return (void *)(size_t)(x & 1);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: burn MILLION-ROUNDS [THREADS]\n");
		return 2;
	}
	rounds = strtoull(argv[1], NULL, 10) * 1000000ull;
	int n = argc > 2 ? atoi(argv[2]) : 1;
	if (n < 1 || n > 64)
		n = 1;
	pthread_t t[64];
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, burn, (void *)(size_t)i);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("burn-wall-s %.3f\n", (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
