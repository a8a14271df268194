/* The trace writer: a read and a write of the sysdma driver traced, the file parsed back with
 * json-c and checked for the shape viewers need; the same run twice gives the same bytes. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dctest.h"
#include "kflow.h"
#include "kernel/trace.h"

/* Runs a write then a read of the sysdma driver on `noncoherent`, traced into path. */
static bool trace_run(const char *path, char *why, size_t len)
{
	struct kf k;
	if (kf_open(&k, "noncoherent", 7, "sysblk", NULL, "sysdma")) {
		snprintf(why, len, "kf_open: %s", k.err);
		return false;
	}
	struct dc_trace *t = NULL;
	char err[256] = "";
	int rc = dc_trace_open(k.s, path, &t, err, sizeof(err));
	if (rc) {
		snprintf(why, len, "dc_trace_open: %s (%s)", dc_err_name(rc), err);
		kf_close(&k);
		return false;
	}
	bool ok = true;
	for (int dir = 0; dir < 2 && ok; dir++) {
		NTSTATUS st = 0;
		ULONG_PTR info = 0;
		long first = -1;
		long bad = kf_io(&k, dir ? IRP_MJ_READ : IRP_MJ_WRITE, 4096, 3 * 4096 + 512, 100,
		                 DC_ZONE_ISA, 31 + (uint64_t)dir, &st, &info, &first);
		if (bad) {
			snprintf(why, len, "%s: %ld wrong bytes, status 0x%08X",
			         dir ? "read" : "write", bad, (unsigned)st);
			ok = false;
		}
	}
	dc_trace_instant(t, "finding \"C07\"", dc_sys_now(k.s), "line 1\nbad \xff byte\t\\");
	rc = dc_trace_close(t);
	if (ok && rc) {
		snprintf(why, len, "dc_trace_close: %s", dc_err_name(rc));
		ok = false;
	}
	kf_close(&k);
	return ok;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, n = 0, got;
	do {
		if (n == cap) {
			cap = cap ? 2 * cap : 1 << 16;
			char *nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got);
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

static const char *str_of(json_object *ev, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(ev, key, &v) && json_object_is_type(v, json_type_string)
	           ? json_object_get_string(v)
	           : NULL;
}

static int64_t int_of(json_object *ev, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(ev, key, &v) ? json_object_get_int64(v) : -1;
}

struct trace_counts {
	int tid_of[9]; /* tid -> index in names (by thread_name) */
	unsigned b[8], e[8], dma, c8237, cposted, irp_b, irp_e, findings;
	int64_t irp_id_sum;
	char finding_detail[64];
};

DC_TEST(trace_sysdma_read_write_is_valid_and_deterministic)
{
	char p1[] = "/tmp/dmacoh-trace-XXXXXX", p2[] = "/tmp/dmacoh-trace-XXXXXX";
	int fd1 = mkstemp(p1), fd2 = mkstemp(p2);
	CHECK(fd1 >= 0 && fd2 >= 0);
	close(fd1);
	close(fd2);
	char why[512] = "";
	bool ok1 = trace_run(p1, why, sizeof(why));
	bool ok2 = ok1 && trace_run(p2, why, sizeof(why));
	size_t n1 = 0, n2 = 0;
	char *f1 = slurp(p1, &n1), *f2 = slurp(p2, &n2);
	unlink(p1);
	unlink(p2);
	json_object *root = f1 ? json_tokener_parse(f1) : NULL;
	bool same = f1 && f2 && n1 == n2 && !memcmp(f1, f2, n1);
	free(f1);
	free(f2);
	CHECK_MSG(ok1 && ok2, "%s", why);
	CHECK_MSG(root, "not valid JSON");
	CHECK_MSG(same, "two identical runs gave different files (%zu and %zu bytes)", n1, n2);

	json_object *evs;
	CHECK(json_object_object_get_ex(root, "traceEvents", &evs));
	CHECK(json_object_is_type(evs, json_type_array));
	CHECK(!strcmp(str_of(root, "displayTimeUnit"), "ns"));
	size_t n = json_object_array_length(evs);
	struct trace_counts c = {0};
	const char *tracks[] = {"interrupts", "dpcs", "irps", "dma", "findings"};
	for (int i = 0; i < 9; i++)
		c.tid_of[i] = -1;
	for (size_t i = 0; i < n; i++) {
		json_object *ev = json_object_array_get_idx(evs, i), *v;
		CHECK_MSG(json_object_is_type(ev, json_type_object), "event %zu", i);
		const char *ph = str_of(ev, "ph");
		CHECK_MSG(ph && json_object_object_get_ex(ev, "ts", &v) &&
		              json_object_object_get_ex(ev, "pid", &v) &&
		              json_object_object_get_ex(ev, "tid", &v),
		          "event %zu lacks ph/ts/pid/tid", i);
		int64_t tid = int_of(ev, "tid");
		CHECK_MSG(tid >= 0 && tid < 9, "event %zu: tid %" PRId64, i, tid);
		const char *name = str_of(ev, "name");
		CHECK_MSG(name, "event %zu has no name", i);
		if (!strcmp(ph, "M") && !strcmp(name, "thread_name")) {
			json_object *args;
			CHECK(json_object_object_get_ex(ev, "args", &args));
			const char *tn = str_of(args, "name");
			for (int k = 0; k < (int)DC_ARRAY_SIZE(tracks); k++)
				if (tn && !strcmp(tn, tracks[k]))
					c.tid_of[tid] = k;
			continue;
		}
		int track = c.tid_of[tid];
		if (!strcmp(ph, "B"))
			c.b[tid]++;
		else if (!strcmp(ph, "E"))
			c.e[tid]++;
		else if (!strcmp(ph, "b") && track == 2) {
			c.irp_b++;
			c.irp_id_sum += int_of(ev, "id");
		} else if (!strcmp(ph, "e") && track == 2) {
			c.irp_e++;
			c.irp_id_sum -= int_of(ev, "id");
		} else if (!strcmp(ph, "C") && !strcmp(name, "8237 buffer"))
			c.c8237++;
		else if (!strcmp(ph, "C") && !strcmp(name, "posted writes"))
			c.cposted++;
		else if (!strcmp(ph, "i") && track == 3)
			c.dma++;
		else if (!strcmp(ph, "i") && track == 4) {
			c.findings++;
			json_object *args;
			CHECK(json_object_object_get_ex(ev, "args", &args));
			CHECK(!strcmp(name, "finding \"C07\""));
			snprintf(c.finding_detail, sizeof(c.finding_detail), "%s",
			         str_of(args, "detail"));
		}
	}
	int isr = -1, dpc = -1;
	for (int tid = 0; tid < 8; tid++) {
		if (c.tid_of[tid] == 0)
			isr = tid;
		if (c.tid_of[tid] == 1)
			dpc = tid;
	}
	CHECK_MSG(isr >= 0 && dpc >= 0, "no interrupts/dpcs tracks");
	CHECK_MSG(c.b[isr] > 0 && c.b[isr] == c.e[isr], "ISR B %u E %u", c.b[isr], c.e[isr]);
	CHECK_MSG(c.b[dpc] > 0 && c.b[dpc] == c.e[dpc], "DPC B %u E %u", c.b[dpc], c.e[dpc]);
	CHECK_MSG(c.irp_b == 2 && c.irp_e == 2 && c.irp_id_sum == 0, "IRPs: %u b, %u e", c.irp_b,
	          c.irp_e);
	CHECK_MSG(c.dma > 0, "no dma event");
	CHECK_MSG(c.c8237 > 0, "no 8237 buffer counter");
	CHECK_EQ(c.findings, 1);
	CHECK_MSG(!strcmp(c.finding_detail, "line 1\nbad \xef\xbf\xbd byte\t\\"), "detail: %s",
	          c.finding_detail);
	json_object_put(root);
}

DC_TEST(trace_open_reports_the_path_and_reason)
{
	struct kf k;
	CHECK_MSG(kf_open(&k, "noncoherent", 7, "sysblk", NULL, "sysdma") == 0, "%s", k.err);
	struct dc_trace *t = (struct dc_trace *)1;
	char err[256] = "";
	int rc = dc_trace_open(k.s, "/nonexistent-dir/t.json", &t, err, sizeof(err));
	kf_close(&k);
	CHECK_EQ(rc, DC_ERR_IO);
	CHECK(t == NULL);
	CHECK_MSG(!strcmp(err, "/nonexistent-dir/t.json: No such file or directory"), "%s", err);
	CHECK_EQ(dc_trace_close(NULL), DC_OK);
}

/* A long run keeps the first DC_TRACE_CACHE_MAX cache events and says how many it dropped. */
DC_TEST(trace_caps_cache_events_and_counts_the_rest)
{
	char path[] = "/tmp/dmacoh-trace-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	struct kf k;
	CHECK_MSG(kf_open(&k, "noncoherent", 9, "sysblk", NULL, "sysdma") == 0, "%s", k.err);
	struct dc_trace *t = NULL;
	char err[256] = "";
	CHECK_MSG(dc_trace_open(k.s, path, &t, err, sizeof(err)) == 0, "%s", err);
	long bad = 0;
	for (int i = 0; i < 400 && !bad; i++) {
		NTSTATUS st = 0;
		ULONG_PTR info = 0;
		long first = -1;
		bad = kf_io(&k, (i & 1) ? IRP_MJ_READ : IRP_MJ_WRITE, 0, 16 * 4096, 0, DC_ZONE_ISA,
		            (uint64_t)i, &st, &info, &first);
	}
	int rc = dc_trace_close(t);
	kf_close(&k);
	size_t n = 0;
	char *f = slurp(path, &n);
	unlink(path);
	json_object *root = f ? json_tokener_parse(f) : NULL;
	free(f);
	CHECK_EQ(bad, 0);
	CHECK_EQ(rc, DC_OK);
	CHECK_MSG(root, "not valid JSON");
	json_object *evs;
	CHECK(json_object_object_get_ex(root, "traceEvents", &evs));
	size_t cache = 0;
	int64_t kept = -1, dropped = -1;
	for (size_t i = 0; i < json_object_array_length(evs); i++) {
		json_object *ev = json_object_array_get_idx(evs, i), *args;
		const char *name = str_of(ev, "name");
		if (int_of(ev, "tid") != 1 || strcmp(str_of(ev, "ph"), "i"))
			continue;
		if (!strcmp(name, "cache events dropped")) {
			CHECK(json_object_object_get_ex(ev, "args", &args));
			kept = int_of(args, "kept");
			dropped = int_of(args, "dropped");
		} else {
			cache++;
		}
	}
	json_object_put(root);
	CHECK_EQ(cache, DC_TRACE_CACHE_MAX);
	CHECK_EQ(kept, DC_TRACE_CACHE_MAX);
	CHECK_MSG(dropped > 0, "dropped %" PRId64, dropped);
}
