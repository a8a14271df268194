/* pc -> file:line:function for reports, with elfutils libdw's dwfl API over the running
 * process.  The modules are the dynamic linker's own list (dl_iterate_phdr), each reported
 * at its load bias: not /proc/self/maps, where any other mapping of a module's file (libelf's
 * own mmap of the ELF it reads, the first time an address of the module is looked up) is
 * indistinguishable from the module and, placed right below it, moves the module's start and
 * so its bias (every lookup then misses its DWARF, depending on where ASLR put the mappings).
 * A module dlopen'ed after the first lookup makes the process be reported again.  Every answer is
 * cached per address: a report asks for the same few call sites over and over.  A return address is
 * looked up at pc - 1 (the call instruction), as every sanitizer does.
 *
 * The line: DWARF line 0 ("no source line", which clang emits for merged or hoisted code) is
 * never shown: the nearest real line of the same function scope is, before the address or
 * else after it (as addr2line and llvm-symbolizer settle such rows).  Code of an inline
 * helper in dmacoh's own headers (include/dmacoh/<name>.h, e.g. wdm.h's IoRequestDpc) is
 * shown at the driver line that called the helper: the innermost inlined frame outside those
 * headers, with the helper's name kept in dc_symbol.helper.  Paths under the current
 * directory are shown relative to it, so reports do not depend on where the tree is checked
 * out.  Each distinct file:line:function gets a small location id (dc_symbol.loc), which
 * findings are grouped by: the gcc and clang builds of one source line are one finding. */
#include <dwarf.h>
#include <link.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "check_int.h"

struct dc_sym_ent {
	uintptr_t key; /* lookup address + 1 (0: empty slot) */
	struct dc_symbol s;
};

struct dc_sym {
	Dwfl *dwfl;
	bool failed;
	struct dc_sym_ent *tab;
	size_t cap, n;
	char **locs;       /* location id - 1 -> "file:line:function" */
	uint32_t *loc_tab; /* open addressing over locs: id, 0 empty */
	size_t n_locs, cap_locs, loc_cap;
	char cwd[1024];
	size_t cwd_len;
	struct dc_symbol unknown;
};

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
};

struct report_ctx {
	Dwfl *dwfl;
	uintptr_t vdso;
	int n;
};

/* One loaded object, at the bias the dynamic linker gave it.  The vDSO (no file) and an
 * object whose file cannot be read are left out: their addresses show as unknown. */
static int report_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct report_ctx *r = data;
	char exe[4096];
	const char *path = info->dlpi_name;
	if (r->vdso && (uintptr_t)info->dlpi_phdr >= r->vdso &&
	    (uintptr_t)info->dlpi_phdr - r->vdso < (uintptr_t)sysconf(_SC_PAGESIZE))
		return 0;
	if (!path || !*path) { /* the main program */
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return 0;
		exe[n] = 0;
		path = exe;
	}
	if (dwfl_report_elf(r->dwfl, path, path, -1, info->dlpi_addr, false))
		r->n++;
	return 0;
}

static bool report(struct dc_sym *s)
{
	if (!s->dwfl) {
		s->dwfl = dwfl_begin(&callbacks);
		if (!s->dwfl)
			return false;
	}
	struct report_ctx r = {.dwfl = s->dwfl, .vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR)};
	dwfl_report_begin(s->dwfl);
	dl_iterate_phdr(report_cb, &r);
	dwfl_report_end(s->dwfl, NULL, NULL);
	return r.n > 0;
}

static struct dc_sym *sym_state(struct dc_check *c)
{
	if (c->sym)
		return c->sym;
	struct dc_sym *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (getcwd(s->cwd, sizeof(s->cwd) - 1)) {
		s->cwd_len = strlen(s->cwd);
		if (s->cwd_len && s->cwd[s->cwd_len - 1] != '/')
			s->cwd[s->cwd_len++] = '/';
		s->cwd[s->cwd_len] = 0;
	}
	s->failed = !report(s);
	c->sym = s;
	return s;
}

static char *dup_path(const struct dc_sym *s, const char *p)
{
	if (!p)
		return NULL;
	if (s->cwd_len && !strncmp(p, s->cwd, s->cwd_len))
		p += s->cwd_len;
	return strdup(p);
}

/* The unit holding addr: through .debug_aranges when there are some, else by walking the
 * units (clang emits no aranges).  Fills *die; false if none. */
static bool find_cu(Dwfl_Module *mod, uintptr_t addr, Dwarf_Die *die, Dwarf_Addr *bias)
{
	Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, bias);
	if (cu) {
		*die = *cu;
		return true;
	}
	Dwarf *dw = dwfl_module_getdwarf(mod, bias);
	if (!dw)
		return false;
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dwarf_next_unit(dw, off, &next, &hsize, NULL, NULL, NULL, NULL, NULL, NULL) == 0) {
		if (dwarf_offdie(dw, off + hsize, die) && dwarf_haspc(die, addr - *bias) > 0)
			return true;
		off = next;
	}
	return false;
}

/* A scope's name, through DW_AT_abstract_origin / DW_AT_specification (an inlined or a
 * concrete out-of-line instance names its function there). */
static const char *die_name(Dwarf_Die *d)
{
	Dwarf_Attribute at;
	return dwarf_attr_integrate(d, DW_AT_name, &at) ? dwarf_formstring(&at) : NULL;
}

static bool is_func(Dwarf_Die *d)
{
	int tag = dwarf_tag(d);
	return tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram;
}

/* The DIE offset of the innermost function scope (inlined or not) at a, 0 if none. */
static Dwarf_Off scope_at(Dwarf_Die *cu, Dwarf_Addr a)
{
	Dwarf_Die *scopes = NULL;
	int n = dwarf_getscopes(cu, a, &scopes);
	Dwarf_Off off = 0;
	for (int i = 0; i < n && !off; i++)
		if (is_func(&scopes[i]))
			off = dwarf_dieoffset(&scopes[i]);
	free(scopes);
	return off;
}

/* The line-table row for a (the last row at or before it, inside a sequence), skipping line 0
 * rows for the nearest real line of the same function scope (before, else after). */
static Dwarf_Line *line_at(Dwarf_Die *cu, Dwarf_Addr a, Dwarf_Off scope)
{
	Dwarf_Lines *lines;
	size_t n;
	if (dwarf_getsrclines(cu, &lines, &n) != 0 || !n)
		return NULL;
	size_t lo = 0, hi = n; /* first row with address > a */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		Dwarf_Addr ma = 0;
		dwarf_lineaddr(dwarf_onesrcline(lines, mid), &ma);
		if (ma <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	size_t i = lo - 1;
	Dwarf_Line *l = dwarf_onesrcline(lines, i);
	bool end = false;
	int lineno = 0;
	dwarf_lineendsequence(l, &end);
	if (end)
		return NULL;
	dwarf_lineno(l, &lineno);
	if (lineno)
		return l;
	for (int dir = -1; dir <= 1; dir += 2) {
		for (size_t j = i; dir < 0 ? j > 0 : j + 1 < n;) {
			j = dir < 0 ? j - 1 : j + 1;
			Dwarf_Line *o = dwarf_onesrcline(lines, j);
			Dwarf_Addr oa = 0;
			dwarf_lineendsequence(o, &end);
			if (end)
				break;
			dwarf_lineno(o, &lineno);
			dwarf_lineaddr(o, &oa);
			if (lineno && (!scope || scope_at(cu, oa) == scope))
				return o;
		}
	}
	return l;
}

/* A header of dmacoh's own include directory (include/dmacoh/<name>.h, which dmacoh-cc puts
 * on the include path): code there is a helper, not the driver's. */
static bool dmacoh_header(const char *file)
{
	size_t n = file ? strlen(file) : 0;
	if (n < 2 || strcmp(file + n - 2, ".h"))
		return false;
	const char *slash = strrchr(file, '/');
	if (!slash)
		return false;
	const char *dir = slash;
	while (dir > file && dir[-1] != '/')
		dir--;
	return (size_t)(slash - dir) == 6 && !strncmp(dir, "dmacoh", 6);
}

static const char *call_file(Dwarf_Die *cu, Dwarf_Die *inl, int *line)
{
	Dwarf_Attribute at;
	Dwarf_Word fno = 0, lno = 0;
	Dwarf_Files *files;
	size_t nfiles;
	if (!dwarf_attr(inl, DW_AT_call_file, &at) || dwarf_formudata(&at, &fno) != 0 ||
	    !dwarf_attr(inl, DW_AT_call_line, &at) || dwarf_formudata(&at, &lno) != 0 ||
	    dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || fno >= nfiles)
		return NULL;
	*line = (int)lno;
	return dwarf_filesrc(files, fno, NULL, NULL);
}

/* file:line:function from the unit's DWARF: see the file comment.  False if the unit or its
 * line is not found. */
static bool dwarf_resolve(struct dc_sym *s, Dwfl_Module *mod, uintptr_t addr, struct dc_symbol *out)
{
	Dwarf_Addr bias = 0;
	Dwarf_Die cu;
	if (!find_cu(mod, addr, &cu, &bias))
		return false;
	Dwarf_Addr a = addr - bias;
	Dwarf_Die *scopes = NULL;
	int n = dwarf_getscopes(&cu, a, &scopes);
	int fi = 0;
	while (fi < n && !is_func(&scopes[fi]))
		fi++;
	Dwarf_Line *l = line_at(&cu, a, fi < n ? dwarf_dieoffset(&scopes[fi]) : 0);
	const char *file = l ? dwarf_linesrc(l, NULL, NULL) : NULL;
	int lineno = 0;
	if (!file || dwarf_lineno(l, &lineno) != 0) {
		free(scopes);
		return false;
	}
	const char *helper = NULL;
	/* Out of dmacoh's headers: each inlined frame's call site is a line of its caller. */
	while (dmacoh_header(file) && fi < n &&
	       dwarf_tag(&scopes[fi]) == DW_TAG_inlined_subroutine) {
		int cl = 0;
		const char *cf = call_file(&cu, &scopes[fi], &cl);
		if (!cf)
			break;
		helper = die_name(&scopes[fi]);
		file = cf;
		lineno = cl;
		do
			fi++;
		while (fi < n && !is_func(&scopes[fi]));
	}
	out->file = dup_path(s, file);
	out->line = lineno;
	const char *nm = fi < n ? die_name(&scopes[fi]) : NULL;
	if (!nm)
		nm = dwfl_module_addrname(mod, addr);
	/* A compiler's clone (gcc: f.constprop.0, f.isra.0, f.part.0, f.cold) is shown as f. */
	if (nm)
		out->func = strndup(nm, strcspn(nm, "."));
	if (helper)
		out->helper = strdup(helper);
	free(scopes);
	return true;
}

struct phdr_find {
	uintptr_t addr;
	bool found;
	uintptr_t lo, hi; /* the loaded segment holding addr */
};

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct phdr_find *q = data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && q->addr >= lo && q->addr - lo < ph->p_memsz) {
			q->found = true;
			q->lo = lo;
			q->hi = lo + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

/* The module of addr.  When the dynamic linker knows a loaded segment holding addr that the
 * snapshot's module does not cover (a module loaded since, or one unloaded and another loaded
 * at its place), the process is reported again. */
static Dwfl_Module *module_of(struct dc_sym *s, uintptr_t addr)
{
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
	struct phdr_find q = {.addr = addr};
	dl_iterate_phdr(phdr_cb, &q);
	if (mod && q.found) {
		Dwarf_Addr lo = 0, hi = 0;
		dwfl_module_info(mod, NULL, &lo, &hi, NULL, NULL, NULL, NULL);
		if (lo <= q.lo && q.hi <= hi)
			return mod;
	} else if (mod) {
		return mod;
	}
	if (report(s))
		mod = dwfl_addrmodule(s->dwfl, addr);
	return mod;
}

static void resolve(struct dc_sym *s, uintptr_t addr, struct dc_symbol *out)
{
	memset(out, 0, sizeof(*out));
	if (!s->dwfl)
		return;
	Dwfl_Module *mod = module_of(s, addr);
	if (!mod)
		return;
	Dwarf_Addr start = 0;
	const char *name = dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
	if (name) {
		const char *slash = strrchr(name, '/');
		out->module = strdup(slash ? slash + 1 : name);
		out->off = addr - start;
	}
	if (dwarf_resolve(s, mod, addr, out))
		return;
	const char *fn = dwfl_module_addrname(mod, addr);
	if (fn)
		out->func = strndup(fn, strcspn(fn, "."));
	Dwfl_Line *line = dwfl_module_getsrc(mod, addr);
	if (line) {
		int lineno = 0;
		const char *file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
		if (file && lineno) {
			out->file = dup_path(s, file);
			out->line = lineno;
		}
	}
}

/* The location id of out's file:line:function (0: none, when the file is unknown). */
static uint32_t intern(struct dc_sym *s, const struct dc_symbol *out)
{
	if (!out->file)
		return 0;
	char key[1200];
	snprintf(key, sizeof(key), "%s:%d:%s", out->file, out->line, out->func ? out->func : "?");
	uint64_t h = 1469598103934665603u;
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	if ((s->n_locs + 1) * 2 > s->loc_cap) {
		size_t cap = s->loc_cap ? s->loc_cap * 2 : 64;
		uint32_t *t = calloc(cap, sizeof(*t));
		if (!t)
			return 0;
		for (size_t i = 0; i < s->n_locs; i++) {
			uint64_t g = 1469598103934665603u;
			for (const char *p = s->locs[i]; *p; p++)
				g = (g ^ (unsigned char)*p) * 1099511628211u;
			size_t k = (size_t)g & (cap - 1);
			while (t[k])
				k = (k + 1) & (cap - 1);
			t[k] = (uint32_t)i + 1;
		}
		free(s->loc_tab);
		s->loc_tab = t;
		s->loc_cap = cap;
	}
	size_t k = (size_t)h & (s->loc_cap - 1);
	for (; s->loc_tab[k]; k = (k + 1) & (s->loc_cap - 1))
		if (!strcmp(s->locs[s->loc_tab[k] - 1], key))
			return s->loc_tab[k];
	if (s->n_locs == s->cap_locs) {
		size_t cap = s->cap_locs ? s->cap_locs * 2 : 64;
		char **l = realloc(s->locs, cap * sizeof(*l));
		if (!l)
			return 0;
		s->locs = l;
		s->cap_locs = cap;
	}
	char *d = strdup(key);
	if (!d)
		return 0;
	s->locs[s->n_locs++] = d;
	s->loc_tab[k] = (uint32_t)s->n_locs;
	return (uint32_t)s->n_locs;
}

static int grow(struct dc_sym *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64;
	struct dc_sym_ent *t = calloc(cap, sizeof(*t));
	if (!t)
		return -1;
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->tab[i].key)
			continue;
		size_t k = (s->tab[i].key * 0x9e3779b97f4a7c15u >> 20) & (cap - 1);
		while (t[k].key)
			k = (k + 1) & (cap - 1);
		t[k] = s->tab[i];
	}
	free(s->tab);
	s->tab = t;
	s->cap = cap;
	return 0;
}

const struct dc_symbol *dc_sym_lookup(struct dc_check *c, const void *pc, bool exact)
{
	struct dc_sym *s = sym_state(c);
	static const struct dc_symbol none;
	if (!s || !pc)
		return s ? &s->unknown : &none;
	uintptr_t addr = (uintptr_t)pc - (exact ? 0 : 1);
	uintptr_t key = addr + 1;
	if (s->cap) {
		for (size_t k = (key * 0x9e3779b97f4a7c15u >> 20) & (s->cap - 1); s->tab[k].key;
		     k = (k + 1) & (s->cap - 1))
			if (s->tab[k].key == key)
				return &s->tab[k].s;
	}
	if ((s->n + 1) * 2 > s->cap && grow(s) < 0)
		return &s->unknown;
	size_t k = (key * 0x9e3779b97f4a7c15u >> 20) & (s->cap - 1);
	while (s->tab[k].key)
		k = (k + 1) & (s->cap - 1);
	s->tab[k].key = key;
	resolve(s, addr, &s->tab[k].s);
	s->tab[k].s.loc = intern(s, &s->tab[k].s);
	s->n++;
	return &s->tab[k].s;
}

size_t dc_check_symbolize(struct dc_check *c, const void *pc, bool exact, char *buf, size_t len)
{
	const struct dc_symbol *s = dc_sym_lookup(c, pc, exact);
	int n;
	if (!pc)
		n = snprintf(buf, len, "?");
	else if (s->file)
		n = snprintf(buf, len, "%s:%d:%s", s->file, s->line, s->func ? s->func : "?");
	else if (s->func)
		n = snprintf(buf, len, "%s+0x%llx:%s", s->module ? s->module : "?",
		             (unsigned long long)s->off, s->func);
	else if (s->module)
		n = snprintf(buf, len, "%s+0x%llx", s->module, (unsigned long long)s->off);
	else
		n = snprintf(buf, len, "?");
	return n < 0 ? 0 : (size_t)n;
}

void dc_sym_free(struct dc_check *c)
{
	struct dc_sym *s = c->sym;
	if (!s)
		return;
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->tab[i].key)
			continue;
		free((char *)s->tab[i].s.file);
		free((char *)s->tab[i].s.func);
		free((char *)s->tab[i].s.module);
		free((char *)s->tab[i].s.helper);
	}
	free(s->tab);
	for (size_t i = 0; i < s->n_locs; i++)
		free(s->locs[i]);
	free(s->locs);
	free(s->loc_tab);
	if (s->dwfl)
		dwfl_end(s->dwfl);
	free(s);
	c->sym = NULL;
}

void dc_sym_preset(struct dc_check *c, const void *pc, bool exact, const struct dc_symbol *sym)
{
	struct dc_sym *s = sym_state(c);
	if (!s || !pc)
		return;
	uintptr_t key = (uintptr_t)pc - (exact ? 0 : 1) + 1;
	if ((s->n + 1) * 2 > s->cap && grow(s) < 0)
		return;
	size_t k = (key * 0x9e3779b97f4a7c15u >> 20) & (s->cap - 1);
	while (s->tab[k].key && s->tab[k].key != key)
		k = (k + 1) & (s->cap - 1);
	struct dc_symbol *d = &s->tab[k].s;
	if (s->tab[k].key) {
		free((char *)d->file);
		free((char *)d->func);
		free((char *)d->module);
		free((char *)d->helper);
	} else {
		s->n++;
	}
	s->tab[k].key = key;
	d->line = sym->line;
	d->off = sym->off;
	d->file = sym->file ? strdup(sym->file) : NULL;
	d->func = sym->func ? strdup(sym->func) : NULL;
	d->module = sym->module ? strdup(sym->module) : NULL;
	d->helper = sym->helper ? strdup(sym->helper) : NULL;
	/* The parent's own location id: equal lines group as they do in the child. */
	d->loc = d->file ? intern(s, d) : 0;
}
