/* Findings streamed to another process as they are made (docs/supervise.md): the supervised
 * `dmacoh run` runs the driver in a child whose checker writes one small record per change to
 * its findings (a new finding with its call sites already symbolized, a repeat, a suppressed
 * or dropped occurrence, a late `manifested`) on a pipe; the parent applies them to its own
 * checker, so it holds the same findings whatever happens to the child afterwards, and writes
 * the report with the same text (symbols come with the records: the driver module is loaded in
 * the child only).  Tools may put their own records on the same stream (types >=
 * DC_STREAM_TOOL).
 *
 * One streaming checker per process (the child has one).  Not done: a byte order or version
 * field (both ends are the same binary, forked). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_int.h"

static struct dc_check *stream_check;
static int stream_fd = -1;

/* REC_UPDATE: an entry's details replaced (same occurrence, lower bytes: findings.c).
 * REC_NOTE: a workload result's IRP note (its status, the driver's last DbgPrint lines). */
enum { REC_NEW = 1, REC_REPEAT, REC_SUPP, REC_DROP, REC_MANIFEST, REC_UPDATE, REC_NOTE };

void dc_check_stream_to(struct dc_check *c, int fd)
{
	stream_check = fd >= 0 ? c : NULL;
	stream_fd = fd;
}

bool dc_stream_on(const struct dc_check *c)
{
	return c && c == stream_check && stream_fd >= 0;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *b = p;
	while (n) {
		ssize_t k = write(fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return DC_ERR_IO;
		b += k;
		n -= (size_t)k;
	}
	return DC_OK;
}

int dc_check_stream_write(struct dc_check *c, uint32_t type, const void *p, size_t n)
{
	if (!dc_stream_on(c) || n > UINT32_MAX - sizeof(struct dc_stream_hdr))
		return DC_ERR_IO;
	/* One write per record when it fits: a reader never sees half a small record unless
	 * the writer dies inside write(), which a pipe makes atomic up to PIPE_BUF. */
	char buf[4096];
	struct dc_stream_hdr h = {type, (uint32_t)n};
	int e;
	dc_chk_busy++; /* a watchdog signal now waits: no half record (findings.c) */
	if (sizeof(h) + n <= sizeof(buf)) {
		memcpy(buf, &h, sizeof(h));
		if (n)
			memcpy(buf + sizeof(h), p, n);
		e = write_all(stream_fd, buf, sizeof(h) + n);
	} else {
		e = write_all(stream_fd, &h, sizeof(h));
		if (!e)
			e = write_all(stream_fd, p, n);
	}
	if (--dc_chk_busy == 0 && dc_crash_pending)
		dc_crash_raise_pending();
	return e;
}

/* --- Serialization of a new finding --------------------------------------------------------- */

struct buf {
	char *p;
	size_t n, cap;
	bool bad;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->bad = true;
		return;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void put_str(struct buf *b, const char *s)
{
	uint16_t l = s ? (uint16_t)strnlen(s, 1000) : UINT16_MAX;
	put(b, &l, sizeof(l));
	if (s)
		put(b, s, l);
}

static void put_sym(struct buf *b, struct dc_check *c, const void *pc, bool exact)
{
	const struct dc_symbol *s = dc_sym_lookup(c, pc, exact);
	uint64_t key = (uint64_t)(uintptr_t)pc;
	uint8_t ex = exact;
	int32_t line = s->line;
	put(b, &key, sizeof(key));
	put(b, &ex, 1);
	put(b, &line, sizeof(line));
	put(b, &s->off, sizeof(s->off));
	put_str(b, s->file);
	put_str(b, s->func);
	put_str(b, s->module);
	put_str(b, s->helper);
}

static void stream_entry(struct dc_check *c, size_t idx, uint32_t type)
{
	const struct dc_entry *e = &c->ent[idx];
	char mem[8192];
	struct buf b = {mem, 0, sizeof(mem), false};
	uint32_t i = (uint32_t)idx;
	uint8_t supp = e->suppressed, nsym = 0;
	put(&b, &i, sizeof(i));
	put(&b, &supp, 1);
	put(&b, &e->key, sizeof(e->key));
	put(&b, &e->f, sizeof(e->f));
	const void *pcs[1 + DC_FINDING_SITES];
	bool ex[1 + DC_FINDING_SITES];
	if (e->f.pc) {
		pcs[nsym] = e->f.pc;
		ex[nsym++] = e->f.exact_pc;
	}
	for (unsigned k = 0; k < e->f.n_sites && k < DC_FINDING_SITES; k++)
		if (e->f.site[k].pc) {
			pcs[nsym] = e->f.site[k].pc;
			ex[nsym++] = false;
		}
	if (supp)
		nsym = 0; /* never shown: no symbols needed */
	put(&b, &nsym, 1);
	for (unsigned k = 0; k < nsym; k++)
		put_sym(&b, c, pcs[k], ex[k]);
	if (!b.bad)
		dc_check_stream_write(c, type, b.p, b.n);
}

void dc_stream_update(struct dc_check *c, int idx)
{
	if (dc_stream_on(c) && idx >= 0)
		stream_entry(c, (size_t)idx, REC_UPDATE);
}

void dc_stream_after_add(struct dc_check *c, const struct dc_finding *f, int idx, size_t n_ent,
                         uint64_t dropped, uint64_t suppressed)
{
	if (c->n_ent > n_ent) {
		stream_entry(c, c->n_ent - 1, REC_NEW);
	} else if (idx >= 0) {
		uint32_t r[2] = {(uint32_t)idx, f->manifested};
		dc_check_stream_write(c, REC_REPEAT, r, sizeof(r));
	} else if (c->dropped > dropped) {
		uint32_t r[2] = {(uint32_t)f->rule, (uint32_t)f->severity};
		dc_check_stream_write(c, REC_DROP, r, sizeof(r));
	} else if (c->suppressed > suppressed) {
		dc_check_stream_write(c, REC_SUPP, NULL, 0);
	}
}

void dc_stream_manifest(struct dc_check *c, int idx)
{
	if (dc_stream_on(c) && idx >= 0) {
		uint32_t i = (uint32_t)idx;
		dc_check_stream_write(c, REC_MANIFEST, &i, sizeof(i));
	}
}

void dc_stream_note(struct dc_check *c, int idx)
{
	if (!dc_stream_on(c) || idx < 0 || !c->ent[idx].note)
		return;
	char rec[sizeof(uint32_t) + sizeof(struct dc_irp_note)];
	uint32_t i = (uint32_t)idx;
	memcpy(rec, &i, sizeof(i));
	memcpy(rec + sizeof(i), c->ent[idx].note, sizeof(struct dc_irp_note));
	dc_check_stream_write(c, REC_NOTE, rec, sizeof(rec));
}

/* --- The receiving end ------------------------------------------------------------------------ */

struct rd {
	const char *p;
	size_t n, at;
	bool bad;
};

static void get(struct rd *r, void *out, size_t n)
{
	if (r->at + n > r->n) {
		r->bad = true;
		memset(out, 0, n);
		return;
	}
	memcpy(out, r->p + r->at, n);
	r->at += n;
}

static const char *get_str(struct rd *r, char *out, size_t cap)
{
	uint16_t l;
	get(r, &l, sizeof(l));
	if (r->bad || l == UINT16_MAX)
		return NULL;
	if (l >= cap || r->at + l > r->n) {
		r->bad = true;
		return NULL;
	}
	memcpy(out, r->p + r->at, l);
	out[l] = 0;
	r->at += l;
	return out;
}

static int grow_ent(struct dc_check *c)
{
	if (c->n_ent == c->cap_ent) {
		size_t cap = c->cap_ent ? c->cap_ent * 2 : 32;
		struct dc_entry *e = realloc(c->ent, cap * sizeof(*e));
		if (!e)
			return DC_ERR_NOMEM;
		c->ent = e;
		c->cap_ent = cap;
	}
	if (c->n_vis == c->cap_vis) {
		size_t cap = c->cap_vis ? c->cap_vis * 2 : 32;
		size_t *v = realloc(c->vis, cap * sizeof(*v));
		if (!v)
			return DC_ERR_NOMEM;
		c->vis = v;
		c->cap_vis = cap;
	}
	return DC_OK;
}

static void count(struct dc_check *c, enum dc_rule rule, enum dc_severity sev)
{
	if ((unsigned)rule < DC_RULE_COUNT)
		c->hits[rule]++;
	if (sev == DC_SEV_ERROR)
		c->errors++;
}

static int apply_new(struct dc_check *c, struct rd *r, bool update)
{
	uint32_t idx;
	uint8_t supp, nsym;
	struct dc_finding f;
	uint64_t ekey;
	get(r, &idx, sizeof(idx));
	get(r, &supp, 1);
	get(r, &ekey, sizeof(ekey));
	get(r, &f, sizeof(f));
	get(r, &nsym, 1);
	if (r->bad || (update ? idx >= c->n_ent : idx != c->n_ent) ||
	    (unsigned)f.rule >= DC_RULE_COUNT || f.n_sites > DC_FINDING_SITES)
		return DC_ERR_PARSE;
	f.what[sizeof(f.what) - 1] = 0;
	/* Site labels are pointers to the child's string constants: the same binary, so the
	 * same addresses in the parent. */
	for (unsigned k = 0; k < nsym; k++) {
		uint64_t key, off;
		uint8_t ex;
		int32_t line;
		char file[1024], func[1024], mod[1024], helper[1024];
		get(r, &key, sizeof(key));
		get(r, &ex, 1);
		get(r, &line, sizeof(line));
		get(r, &off, sizeof(off));
		struct dc_symbol s = {.line = line, .off = off};
		s.file = get_str(r, file, sizeof(file));
		s.func = get_str(r, func, sizeof(func));
		s.module = get_str(r, mod, sizeof(mod));
		s.helper = get_str(r, helper, sizeof(helper));
		if (r->bad)
			return DC_ERR_PARSE;
		dc_sym_preset(c, (const void *)(uintptr_t)key, ex, &s);
	}
	if (update) {
		struct dc_finding *o = &c->ent[idx].f;
		uint64_t count = o->count;
		bool man = o->manifested;
		*o = f;
		o->count = count;
		o->manifested |= man;
		return DC_OK;
	}
	int e = grow_ent(c);
	if (e)
		return e;
	/* The whole entry: the parent's own findings rehash and merge on key (findings.c). */
	memset(&c->ent[c->n_ent], 0, sizeof(c->ent[c->n_ent]));
	c->ent[c->n_ent].key = ekey;
	c->ent[c->n_ent].f = f;
	c->ent[c->n_ent].f.count = 1;
	c->ent[c->n_ent].suppressed = supp;
	if (supp) {
		c->suppressed++;
	} else {
		c->vis[c->n_vis++] = c->n_ent;
		count(c, f.rule, f.severity);
	}
	c->n_ent++;
	/* The hash is rebuilt from the entries when the parent adds a finding of its own. */
	free(c->hash);
	c->hash = NULL;
	c->hash_cap = 0;
	return DC_OK;
}

int dc_check_stream_apply(struct dc_check *c, uint32_t type, const void *p, size_t n)
{
	struct rd r = {p, n, 0, false};
	uint32_t v[2];
	switch (type) {
	case REC_NEW:
		return apply_new(c, &r, false);
	case REC_UPDATE:
		return apply_new(c, &r, true);
	case REC_REPEAT:
		get(&r, v, sizeof(v));
		if (r.bad || v[0] >= c->n_ent)
			return DC_ERR_PARSE;
		if (c->ent[v[0]].suppressed) {
			c->suppressed++;
		} else {
			c->ent[v[0]].f.count++;
			c->ent[v[0]].f.manifested |= v[1] != 0;
			count(c, c->ent[v[0]].f.rule, c->ent[v[0]].f.severity);
		}
		return DC_OK;
	case REC_SUPP:
		c->suppressed++;
		return DC_OK;
	case REC_DROP:
		get(&r, v, sizeof(v));
		if (r.bad)
			return DC_ERR_PARSE;
		c->dropped++;
		count(c, (enum dc_rule)v[0], (enum dc_severity)v[1]);
		return DC_OK;
	case DC_STREAM_BEAT:
		return DC_OK;
	case REC_NOTE: {
		struct dc_irp_note note;
		get(&r, v, sizeof(v[0]));
		get(&r, &note, sizeof(note));
		if (r.bad || v[0] >= c->n_ent || note.n_lines > DC_NOTE_LINES)
			return DC_ERR_PARSE;
		note.status_name[sizeof(note.status_name) - 1] = 0;
		for (unsigned k = 0; k < note.n_lines; k++)
			note.line[k][DC_NOTE_LINE - 1] = 0;
		struct dc_irp_note *kept =
		    c->ent[v[0]].note ? c->ent[v[0]].note : malloc(sizeof(*kept));
		if (!kept)
			return DC_ERR_NOMEM;
		*kept = note;
		c->ent[v[0]].note = kept;
		return DC_OK;
	}
	case REC_MANIFEST:
		get(&r, v, sizeof(v[0]));
		if (r.bad || v[0] >= c->n_ent)
			return DC_ERR_PARSE;
		c->ent[v[0]].f.manifested = true;
		return DC_OK;
	default:
		return DC_ERR_NOTFOUND;
	}
}
