/* pc -> file:line:function for reports, with elfutils libdw's dwfl API over the running
 * process (/proc/self/maps, so modules dlopen'ed after the first lookup are found by reporting
 * the process again when an address belongs to no known module).  Every answer is cached: a
 * report asks for the same few call sites over and over.  A return address is looked up at
 * pc - 1 (the call instruction), as every sanitizer does.  Paths under the current directory
 * are shown relative to it, so reports do not depend on where the tree is checked out. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>
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
	char cwd[1024];
	size_t cwd_len;
	struct dc_symbol unknown;
};

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
};

static bool report(struct dc_sym *s)
{
	if (!s->dwfl) {
		s->dwfl = dwfl_begin(&callbacks);
		if (!s->dwfl)
			return false;
	}
	dwfl_report_begin(s->dwfl);
	int r = dwfl_linux_proc_report(s->dwfl, getpid());
	dwfl_report_end(s->dwfl, NULL, NULL);
	return r == 0;
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

/* Without .debug_aranges (clang does not emit them) libdw may not find the unit of an
 * address: look through the units themselves. */
static void cu_walk(const struct dc_sym *s, Dwfl_Module *mod, uintptr_t addr, struct dc_symbol *out)
{
	Dwarf_Addr bias = 0;
	Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
	if (!dw)
		return;
	Dwarf_Addr a = addr - bias;
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dwarf_next_unit(dw, off, &next, &hsize, NULL, NULL, NULL, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_haspc(&cu, a) > 0) {
			Dwarf_Line *l = dwarf_getsrc_die(&cu, a);
			int lineno = 0;
			const char *file = l ? dwarf_linesrc(l, NULL, NULL) : NULL;
			if (file && dwarf_lineno(l, &lineno) == 0) {
				out->file = dup_path(s, file);
				out->line = lineno;
			}
			return;
		}
		off = next;
	}
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

/* The function the address's code was written in: the innermost inlined subroutine or
 * subprogram scope (dwfl_module_addrname gives the symbol, i.e. the function it was inlined
 * into).  NULL when the unit cannot be found (the symbol name stands). */
static char *scope_name(Dwfl_Module *mod, uintptr_t addr)
{
	Dwarf_Addr bias = 0;
	Dwarf_Die cu;
	if (!find_cu(mod, addr, &cu, &bias))
		return NULL;
	Dwarf_Die *scopes = NULL;
	int n = dwarf_getscopes(&cu, addr - bias, &scopes);
	char *name = NULL;
	for (int i = 0; i < n; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram) {
			const char *nm = dwarf_diename(&scopes[i]);
			name = nm ? strdup(nm) : NULL;
			break;
		}
	}
	free(scopes);
	return name;
}

static void resolve(struct dc_sym *s, uintptr_t addr, struct dc_symbol *out)
{
	memset(out, 0, sizeof(*out));
	if (!s->dwfl)
		return;
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
	if (!mod && report(s))
		mod = dwfl_addrmodule(s->dwfl, addr);
	if (!mod)
		return;
	Dwarf_Addr start = 0;
	const char *name = dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
	if (name) {
		const char *slash = strrchr(name, '/');
		out->module = strdup(slash ? slash + 1 : name);
		out->off = addr - start;
	}
	out->func = scope_name(mod, addr);
	const char *fn = out->func ? NULL : dwfl_module_addrname(mod, addr);
	if (fn)
		out->func = strdup(fn);
	Dwfl_Line *line = dwfl_module_getsrc(mod, addr);
	if (line) {
		int lineno = 0;
		const char *file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
		if (file) {
			out->file = dup_path(s, file);
			out->line = lineno;
			return;
		}
	}
	cu_walk(s, mod, addr, out);
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
	}
	free(s->tab);
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
	} else {
		s->n++;
	}
	s->tab[k].key = key;
	d->line = sym->line;
	d->off = sym->off;
	d->file = sym->file ? strdup(sym->file) : NULL;
	d->func = sym->func ? strdup(sym->func) : NULL;
	d->module = sym->module ? strdup(sym->module) : NULL;
}
