/* Wild stores: N addresses chosen at random (seed: MEM_WILD_SEED, count: MEM_WILD_N) in the
 * large reservations of the process (mappings of 16 MiB .. 1 TiB from /proc/self/maps: the
 * simulated windows, their page tables and shadows), each written once.  dmacoh must turn the
 * first into a finding (M03, A07 or a crash X01) whatever it hits: none may land silently in
 * dmacoh's own memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem_skel.h"

struct range {
	unsigned long long lo, hi;
};

static unsigned long long next_rand(unsigned long long *s)
{
	*s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
	return *s;
}

static void MemHostile(PDEVICE_OBJECT Pdo)
{
	UNREFERENCED_PARAMETER(Pdo);
	struct range r[64];
	int n = 0;
	unsigned long long total = 0;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return;
	while (n < 64 && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		char path[256] = "";
		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %255s", &lo, &hi, path) < 2)
			continue;
		if (hi - lo < (16ull << 20) || hi - lo > (1ull << 40))
			continue;
		if (path[0] == '/' && strncmp(path, "/memfd:", 7))
			continue; /* files: not dmacoh's reservations */
		r[n].lo = lo, r[n].hi = hi, n++;
		total += hi - lo;
	}
	fclose(f);
	const char *sv = getenv("MEM_WILD_SEED"), *nv = getenv("MEM_WILD_N");
	unsigned long long seed = (sv ? strtoull(sv, NULL, 0) : 1) * 0x9E3779B97F4A7C15ull | 1;
	int count = nv ? atoi(nv) : 1;
	for (int k = 0; k < count && total; k++) {
		unsigned long long at = next_rand(&seed) % total;
		for (int i = 0; i < n; i++) {
			if (at < r[i].hi - r[i].lo) {
				volatile unsigned long long *p =
				    (volatile unsigned long long *)((r[i].lo + at) & ~7ull);
				*p = 0xdeadbeefull; /* EXPECT: M03 */
				break;
			}
			at -= r[i].hi - r[i].lo;
		}
	}
}
