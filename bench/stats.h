/* The statistics every bench section prints: median (min–max) of a few runs, as a number or a
 * ratio, with precision by magnitude.  Shared by bench.c, dma.c and scale.c. */
#ifndef DC_BENCH_STATS_H
#define DC_BENCH_STATS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct summary {
	double med, min, max;
};

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Of n <= 64 values. */
static inline struct summary summarize(const double *v, int n)
{
	double s[64];
	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return (struct summary){n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2, s[0], s[n - 1]};
}

static inline int prec_of(double v)
{
	v = fabs(v);
	return v >= 100 ? 0 : v >= 10 ? 1 : 2;
}

/* "0.82× (0.80–0.85)" */
static inline const char *ratio_str(struct summary s, char *buf, size_t len)
{
	int p = prec_of(s.med);
	snprintf(buf, len, "%.*f× (%.*f–%.*f)", p, s.med, p, s.min, p, s.max);
	return buf;
}

/* "12.3 (11.9–13.0)" */
static inline const char *num_str(struct summary s, char *buf, size_t len)
{
	int p = prec_of(s.med);
	snprintf(buf, len, "%.*f (%.*f–%.*f)", p, s.med, p, s.min, p, s.max);
	return buf;
}

#endif
