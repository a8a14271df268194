/* Every rule of the sanitizer on a synthetic event sequence: the scenario with exactly one
 * mistake gives findings of exactly that rule, the correct scenario none (and the right data);
 * the findings are the same on every built-in platform and under 20 seeds, only `manifested`
 * may differ, and it does where the platform lets the bug corrupt data. */
#include <stdlib.h>
#include <string.h>

#include "dctest.h"
#include "test_check.h"

static const char *const platforms[] = {"pc", "noncoherent", "noncoherent-prefetch"};

static void log_findings(struct tc_env *v)
{
	static char sig[8192];
	tc_signature(v, sig, sizeof(sig));
	dct_log("%s", sig);
}

DC_TEST(check_rules_correct_scenario_is_clean_everywhere)
{
	for (size_t p = 0; p < DC_ARRAY_SIZE(platforms); p++) {
		for (uint64_t seed = 1; seed <= 20; seed++) {
			struct tc_env v;
			CHECK(tc_init(&v, platforms[p], seed, NULL));
			tc_scenario(&v, -1);
			size_t n = dc_check_count(v.c);
			bool ok = v.data_ok;
			if (n)
				log_findings(&v);
			tc_fini(&v);
			CHECK_MSG(n == 0, "%s seed %llu: %zu findings on the correct scenario",
			          platforms[p], (unsigned long long)seed, n);
			CHECK_MSG(ok, "%s seed %llu: the read IRP got the wrong data", platforms[p],
			          (unsigned long long)seed);
		}
	}
}

/* The scenario with the mistake for rule r: findings of r only, identical everywhere. */
static void one_rule(enum dc_rule r)
{
	static char ref[8192], sig[8192];
	ref[0] = 0;
	for (size_t p = 0; p < DC_ARRAY_SIZE(platforms); p++) {
		for (uint64_t seed = 1; seed <= 20; seed++) {
			struct tc_env v;
			CHECK(tc_init(&v, platforms[p], seed, NULL));
			tc_scenario(&v, (int)r);
			tc_signature(&v, sig, sizeof(sig));
			size_t n = dc_check_count(v.c);
			bool only = n > 0;
			for (size_t i = 0; i < n; i++)
				only &= dc_check_finding(v.c, i)->rule == r;
			tc_fini(&v);
			if (!only || (ref[0] && strcmp(ref, sig)))
				dct_log("%s seed %llu:\n%s---\n", platforms[p],
				        (unsigned long long)seed, sig);
			CHECK_MSG(only, "%s seed %llu: expected findings of %s only", platforms[p],
			          (unsigned long long)seed, dc_rule_info(r)->id);
			if (!ref[0])
				strcpy(ref, sig);
			CHECK_MSG(!strcmp(ref, sig), "%s seed %llu: findings differ from pc seed 1",
			          platforms[p], (unsigned long long)seed);
		}
	}
}

#define RULE_TEST(R)                                \
	DC_TEST(check_rules_##R##_alone_everywhere) \
	{                                           \
		one_rule(DC_RULE_##R);              \
	}
RULE_TEST(C01)
RULE_TEST(C02)
RULE_TEST(C03)
RULE_TEST(C04)
RULE_TEST(C05)
RULE_TEST(C06)
RULE_TEST(C07)
RULE_TEST(C08)
RULE_TEST(A01)
RULE_TEST(A02)
RULE_TEST(A03)
RULE_TEST(A04)
RULE_TEST(A05)
RULE_TEST(A06)
RULE_TEST(A07)
RULE_TEST(A08)
RULE_TEST(A09)
RULE_TEST(A10)
RULE_TEST(A11)
RULE_TEST(X01)

/* manifested of the first finding of rule r on a platform (seed 1); -1 if none. */
static int manifested(const char *platform, enum dc_rule r)
{
	struct tc_env v;
	if (!tc_init(&v, platform, 1, NULL))
		return -1;
	tc_scenario(&v, (int)r);
	int m = -1;
	for (size_t i = 0; i < dc_check_count(v.c) && m < 0; i++) {
		const struct dc_finding *f = dc_check_finding(v.c, i);
		if (f->rule == r && f->severity == DC_SEV_ERROR)
			m = f->manifested;
	}
	tc_fini(&v);
	return m;
}

DC_TEST(check_rules_manifested_where_the_platform_corrupts)
{
	static const enum dc_rule coherency[] = {DC_RULE_C01, DC_RULE_C02, DC_RULE_C04, DC_RULE_C05,
	                                         DC_RULE_C06};
	for (size_t i = 0; i < DC_ARRAY_SIZE(coherency); i++) {
		enum dc_rule r = coherency[i];
		CHECK_MSG(manifested("pc", r) == 0, "%s manifested on pc", dc_rule_info(r)->id);
		CHECK_MSG(manifested("noncoherent", r) == 1, "%s not manifested on noncoherent",
		          dc_rule_info(r)->id);
	}
	CHECK_EQ(manifested("pc", DC_RULE_C08), 1);
	CHECK_EQ(manifested("pc", DC_RULE_A02), 0);
}

DC_TEST(check_rules_findings_carry_sites_and_ranges)
{
	struct tc_env v;
	CHECK(tc_init(&v, "noncoherent", 1, NULL));
	tc_scenario(&v, DC_RULE_C01);
	CHECK_EQ(dc_check_count(v.c), 1);
	const struct dc_finding *f = dc_check_finding(v.c, 0);
	CHECK_EQ(f->xfer, 1);
	CHECK_EQ(f->bytes, 2 * DC_PAGE_SIZE);
	CHECK_EQ(f->dir, DC_DIR_TO_DEVICE);
	CHECK(f->device == 1);
	CHECK(f->pc == tc_pc_start_io);
	CHECK(f->pa != DC_PA_INVALID && f->logical == f->pa);
	CHECK(f->va >= DC_CHECK_CACHED_BASE && f->va < DC_CHECK_UNCACHED_BASE);
	CHECK_EQ(f->n_sites, 2);
	CHECK(f->site[0].pc == tc_pc_copy);
	CHECK(f->site[1].pc == tc_pc_start_io);
	char msg[1024];
	dc_check_message(v.c, f, msg, sizeof(msg));
	dct_log("%s\n", msg);
	CHECK(!strncmp(msg, "C01 stale-device-read: device read 8192 bytes of transfer #1", 60));
	CHECK(strstr(msg, "[last written by the CPU at tests/test_check_scn.c:"));
	CHECK(strstr(msg, ":drv_copy]"));
	CHECK(strstr(msg, "[mapped at tests/test_check_scn.c:"));
	tc_fini(&v);
}
