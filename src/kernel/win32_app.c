/* Test applications: a module built by `dmacoh-cc --app` (marked __dmacoh_app) whose `main`
 * (or `wmain`, with UTF-16 arguments) runs as the application's thread in simulated time,
 * against the drivers already started, through the Win32 layer (win32*.c).  exit() and its
 * relatives in the application end it with that status (dmacoh-cc renames them to
 * __dc_app_exit); at its end, what it left pending is cancelled and its handles closed, as
 * Windows does at process exit.
 *
 * Deliberately not modelled: several application threads (CreateThread), a second
 * application at once, unloading the application module (its lines are needed by the report,
 * written after the run). */
#include "win32_app.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel.h"
#include "win32.h"

/* Simulated time the application's cancelled requests get to complete at its end. */
#define APP_END_NS UINT64_C(10000000000)

struct dc_app {
	void *handle;
	int (*main)(int, char **);
	int (*wmain)(int, uint16_t **);
};

static _Thread_local jmp_buf *app_exit_jb;
static _Thread_local int app_exit_code;

_Noreturn void __dc_app_exit(int status);
_Noreturn void __dc_app_exit(int status)
{
	if (!app_exit_jb)
		_exit(status); /* outside a run: nothing to return to */
	app_exit_code = status;
	longjmp(*app_exit_jb, 1);
}
void __dc_app__exit(int status);
void __dc_app__exit(int status)
{
	__dc_app_exit(status);
}
void __dc_app__Exit(int status);
void __dc_app__Exit(int status)
{
	__dc_app_exit(status);
}
void __dc_app_quick_exit(int status);
void __dc_app_quick_exit(int status)
{
	__dc_app_exit(status);
}

/* Which of the symbols the module's dynamic symbol table defines (bit i: names[i]). */
static int defined_symbols(const char *path, const char *const *names, int n, char *err,
                           size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open", path);
		return -1;
	}
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	int found = 0;
	bool is_so = false;
	GElf_Ehdr eh;
	if (e && elf_kind(e) == ELF_K_ELF && gelf_getehdr(e, &eh) && eh.e_type == ET_DYN) {
		is_so = true;
		for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM)
				continue;
			Elf_Data *d = elf_getdata(scn, NULL);
			size_t cnt = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
			for (size_t i = 0; d && i < cnt; i++) {
				GElf_Sym sym;
				if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
					continue;
				const char *nm = elf_strptr(e, sh.sh_link, sym.st_name);
				for (int k = 0; nm && k < n; k++)
					if (!strcmp(nm, names[k]))
						found |= 1 << k;
			}
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	if (!is_so) {
		snprintf(err, errlen, "%s: not a shared object (build it with dmacoh-cc --app)",
		         path);
		return -1;
	}
	return found;
}

int dc_app_check(const char *path, char *err, size_t errlen)
{
	static const char *const names[] = {"__dmacoh_module", "__dmacoh_app", "main", "wmain",
	                                    "DriverEntry"};
	int f = defined_symbols(path, names, 5, err, errlen);
	if (f < 0)
		return DC_ERR_INVAL;
	if ((f & 3) != 3) {
		snprintf(err, errlen, "%s: not an application built by dmacoh-cc --app%s", path,
		         f & 16 ? " (it is a driver: give it with --driver)" : "");
		return DC_ERR_INVAL;
	}
	if (!(f & 12)) {
		snprintf(err, errlen, "%s: the application defines no main or wmain", path);
		return DC_ERR_INVAL;
	}
	return DC_OK;
}

int dc_app_load(const char *path, struct dc_app **out, char *err, size_t errlen)
{
	int e = dc_app_check(path, err, errlen);
	if (e)
		return e;
	struct dc_app *a = calloc(1, sizeof(*a));
	if (!a)
		return DC_ERR_NOMEM;
	a->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!a->handle) {
		snprintf(err, errlen, "%s", dlerror());
		free(a);
		return DC_ERR_IO;
	}
	/* The module's own main: dlsym would also find the program's. */
	void *m = dlsym(a->handle, "main"), *wm = dlsym(a->handle, "wmain");
	Dl_info self, mi;
	if (dladdr(dc_fn_addr((void (*)(void))dc_app_check), &self) && m && dladdr(m, &mi) &&
	    mi.dli_fbase == self.dli_fbase)
		m = NULL;
	union {
		void *p;
		int (*fn)(int, char **);
		int (*wfn)(int, uint16_t **);
	} u;
	if (m) {
		u.p = m;
		a->main = u.fn;
	} else if (wm) {
		u.p = wm;
		a->wmain = u.wfn;
	} else {
		snprintf(err, errlen, "%s: the application defines no main or wmain", path);
		free(a);
		return DC_ERR_INVAL;
	}
	*out = a;
	return DC_OK;
}

const void *dc_app_entry(const struct dc_app *a)
{
	union {
		int (*fn)(int, char **);
		int (*wfn)(int, uint16_t **);
		const void *p;
	} u;
	if (a->main)
		u.fn = a->main;
	else
		u.wfn = a->wmain;
	return u.p;
}

/* argv as UTF-16 (ASCII and Latin-1 widened; -fshort-wchar makes wchar_t 16 bits). */
static uint16_t **widen(int argc, char **argv)
{
	uint16_t **w = calloc((size_t)argc + 1, sizeof(*w));
	for (int i = 0; w && i < argc; i++) {
		size_t n = strlen(argv[i]);
		if (!(w[i] = calloc(n + 1, sizeof(uint16_t))))
			return w;
		for (size_t k = 0; k < n; k++)
			w[i][k] = (unsigned char)argv[i][k];
	}
	return w;
}

/* main or wmain under a longjmp target for exit(). */
static int call_main(struct dc_app *a, int argc, char **argv, uint16_t **wargv)
{
	jmp_buf jb;
	jmp_buf *outer = app_exit_jb;
	app_exit_jb = &jb;
	int code;
	if (!setjmp(jb))
		code = a->main ? a->main(argc, argv) : a->wmain(argc, wargv);
	else
		code = app_exit_code;
	app_exit_jb = outer;
	return code;
}

int dc_app_run(struct dc_sys *s, struct dc_app *a, int argc, char **argv, int *status)
{
	dc_sys_cur = s;
	if (!dc_w32_get(s))
		return DC_ERR_NOMEM;
	s->irql = PASSIVE_LEVEL;
	uint16_t **wargv = a->wmain ? widen(argc, argv) : NULL;
	if (a->wmain && !wargv)
		return DC_ERR_NOMEM;
	int code = call_main(a, argc, argv, wargv);
	for (int i = 0; wargv && i < argc; i++)
		free(wargv[i]);
	free(wargv);
	dc_w32_app_end(s, APP_END_NS);
	*status = code;
	return DC_OK;
}
