/* dmacoh list KIND: what dmacoh knows, one item per line, its name first so scripts can cut
 * the first column.  A kind is one row of `kinds`; devices, drivers and rules join as rows
 * when they exist. */
#include <stdio.h>
#include <string.h>

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "dmacoh/check.h"
#include "dmacoh/driver.h"
#include "dmacoh/platform.h"
#include "kernel/sys.h"
#include "cmds.h"

/* A line that says what sets the profile apart, made from the profile itself so it cannot
 * go stale. */
static void describe(const struct dc_platform *p, char *buf, size_t len)
{
	size_t n = 0;
#define ADD(...)                                                                \
	do {                                                                    \
		int k_ = snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__); \
		if (k_ > 0)                                                     \
			n = DC_MIN(n + (size_t)k_, len - 1);                    \
	} while (0)
	ADD("%s, %u-byte lines,", dc_coherency_name(p->coherency), p->line_size);
	for (uint32_t i = 0; i < p->n_levels; i++) {
		const struct dc_cache_geom *g = &p->level[i];
		uint64_t sz = g->size;
		const char *unit = "";
		if (sz % (1 << 20) == 0) {
			sz >>= 20;
			unit = "M";
		} else if (sz % (1 << 10) == 0) {
			sz >>= 10;
			unit = "K";
		}
		ADD("%s L%u %llu%s %u-way%s%s", i ? "," : "", i + 1, (unsigned long long)sz, unit,
		    g->ways, g->repl == DC_REPL_LRU ? "" : " ",
		    g->repl == DC_REPL_LRU ? "" : dc_repl_name(g->repl));
	}
	const struct dc_adversary *a = &p->adv;
	if (!a->random_evict && !a->evict_dirty_after_dma && !a->prefetch_lines &&
	    !a->speculative_fill) {
		ADD("; no adversary");
		return;
	}
	ADD("; adversary:");
	const char *sep = " ";
	if (a->random_evict) {
		ADD("%srandom evictions", sep);
		sep = ", ";
	}
	if (a->evict_dirty_after_dma) {
		ADD("%sdirty evictions after DMA", sep);
		sep = ", ";
	}
	if (a->prefetch_lines) {
		ADD("%sprefetch %u lines", sep, a->prefetch_lines);
		sep = ", ";
	}
	if (a->speculative_fill)
		ADD("%sspeculative fills", sep);
	if (p->sysdma_ctl != DC_SYSDMA_8237)
		ADD("; system DMA: %s (request lines, no 8237)", dc_sysdma_ctl_name(p->sysdma_ctl));
#undef ADD
}

static int list_platforms(void)
{
	for (const char *const *name = dc_platform_builtin_names(); *name; name++) {
		struct dc_platform p;
		char desc[256];
		if (dc_platform_builtin(*name, &p) != DC_OK)
			continue;
		describe(&p, desc, sizeof(desc));
		printf("%-22s %s\n", *name, desc);
	}
	return 0;
}

static int list_rules(void)
{
	for (int r = 0; r < DC_RULE_COUNT; r++) {
		const struct dc_rule_info *ri = dc_rule_info((enum dc_rule)r);
		printf("%s %-24s %-8s %s\n", ri->id, ri->name, dc_severity_name(ri->severity),
		       ri->summary);
	}
	return 0;
}

/* Loaded with --device-model before listing (list devices only). */
static const char *const *dev_model_files;
static int n_dev_model_files;

/* One line of what a model declares for its first instance. */
static void describe_res(const struct dc_device_model *m, char *buf, size_t len)
{
	const struct dc_device_res *r = &m->res;
	size_t n = 0;
	buf[0] = 0;
#define ADD(...)                                                                \
	do {                                                                    \
		int k_ = snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__); \
		if (k_ > 0)                                                     \
			n = DC_MIN(n + (size_t)k_, len - 1);                    \
	} while (0)
	if (r->port_len)
		ADD("ports 0x%x-0x%x%s, ", r->port_base, r->port_base + r->port_len - 1,
		    r->port_holes ? " (with holes)" : "");
	if (r->mmio_len)
		ADD("MMIO window+0x%llx (%llu bytes), ", (unsigned long long)r->mmio_base,
		    (unsigned long long)r->mmio_len);
	if (r->irq_mode == DC_IRQ_NONE)
		ADD("no IRQ, ");
	else if (r->irq_mode == DC_IRQ_MSI)
		ADD("MSI (%u messages), ", r->msi_messages);
	else if (r->irq >= 0)
		ADD("IRQ %d %s, ", r->irq, r->irq_mode == DC_IRQ_EDGE ? "edge" : "level");
	else
		ADD("any free IRQ %s, ", r->irq_mode == DC_IRQ_EDGE ? "edge" : "level");
	if (r->dma_channel >= 0)
		ADD("DMA %d", r->dma_channel);
	if (r->has_dma2)
		ADD("+%d", r->dma_channel2);
	if (r->dma_channel >= 0)
		ADD(", ");
	if (m->size >= sizeof(*m) && m->has_request_line)
		ADD("request line %u, ", m->request_line);
	if (r->bus_master) {
		char bits[32];
		snprintf(bits, sizeof(bits), r->addr_bits ? "%u-bit" : "platform-width",
		         r->addr_bits);
		ADD("bus master (%s, %u S/G elements%s), ", bits, r->max_sg,
		    r->map_registers ? ", map registers" : "");
	}
	ADD("store %s", dc_store_kind_name(m->store_kind));
	if (m->store_kind == DC_STORE_BLOCK || m->store_kind == DC_STORE_FRAME)
		ADD("/%u", m->store_unit);
#undef ADD
}

/* Each device model (built in, then loaded), described by its own declaration. */
static int list_devices(void)
{
	char err[1024];
	for (int i = 0; i < n_dev_model_files; i++)
		if (dc_sys_load_device_model(dev_model_files[i], NULL, err, sizeof(err))) {
			fprintf(stderr, "dmacoh: %s\n", err);
			return 2;
		}
	for (const char *const *n = dc_sys_device_names(); *n; n++) {
		const struct dc_device_model *m = dc_sys_device_model(*n);
		const char *path = dc_sys_device_model_path(m);
		char res[512];
		describe_res(m, res, sizeof(res));
		printf("%-10s %s%s%s%s\n", *n, m->desc ? m->desc : "", path ? " (from " : "",
		       path ? path : "", path ? ")" : "");
		printf("%-10s   %s\n", "", res);
	}
	return 0;
}

/* The driver modules beside dmacoh (or in DMACOH_DRIVER_DIR), with what each says about
 * itself (a module without dmacoh_driver_info is listed with its file name only). */
static int list_drivers(void)
{
	char dir[PATH_MAX];
	dc_tool_driver_dir(dir, sizeof(dir));
	char *names[512];
	int n = dc_tool_driver_modules(dir, names, DC_ARRAY_SIZE(names));
	if (n < 0) {
		fprintf(stderr,
		        "dmacoh list: %s: no driver directory (build with 'make drivers')\n", dir);
		return 2;
	}
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX + 256];
		snprintf(path, sizeof(path), "%s/%s.so", dir, names[i]);
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		const struct dmacoh_driver_info *info = h ? dlsym(h, "dmacoh_driver_info") : NULL;
		if (info && info->version == DMACOH_DRIVER_INFO_VERSION) {
			if (info->bug)
				printf("%-22s %-8s twin of %s that breaks %s\n", names[i],
				       info->device, info->name, info->bug);
			else
				printf("%-22s %-8s %s\n", names[i], info->device, info->style);
		} else {
			printf("%s\n", names[i]);
		}
		if (h)
			dlclose(h);
		free(names[i]);
	}
	return 0;
}

/* --- exports: what the kernel provides to a module, read from dmacoh's own dynamic symbol
 * table (so every routine any source file defines is listed, nothing is hand-kept).  Listed:
 * the Windows names (they start with a capital: IoCallDriver, READ_PORT_UCHAR, ...) and the C
 * routines dmacoh-cc routes to dmacoh's (__dc_wcslen is listed as wcslen); not the process's
 * own internals (dc_*, __tsan_* hooks) nor the ways of ending the process dmacoh-cc reroutes
 * to report them (exit, abort). */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *export_name(const char *sym)
{
	static const char *const not_api[] = {"exit", "_exit", "_Exit", "quick_exit", "abort"};
	if (!strncmp(sym, "__dc_", 5)) {
		for (size_t i = 0; i < DC_ARRAY_SIZE(not_api); i++)
			if (!strcmp(sym + 5, not_api[i]))
				return NULL;
		return sym + 5;
	}
	return (sym[0] >= 'A' && sym[0] <= 'Z') ? sym : NULL;
}

static int list_exports(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	Elf *e = NULL;
	if (fd < 0 || elf_version(EV_CURRENT) == EV_NONE ||
	    !(e = elf_begin(fd, ELF_C_READ, NULL))) {
		fprintf(stderr, "dmacoh list: cannot read dmacoh's own symbol table\n");
		if (fd >= 0)
			close(fd);
		return 2;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    GELF_ST_BIND(sym.st_info) == STB_LOCAL ||
			    (GELF_ST_TYPE(sym.st_info) != STT_FUNC &&
			     GELF_ST_TYPE(sym.st_info) != STT_OBJECT))
				continue;
			const char *name = export_name(elf_strptr(e, sh.sh_link, sym.st_name));
			if (!name)
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 512;
				char **nn = realloc(names, cap * sizeof(*names));
				if (!nn)
					break;
				names = nn;
			}
			names[n++] = strdup(name);
		}
	}
	elf_end(e);
	close(fd);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (names[i] && (i == 0 || !names[i - 1] || strcmp(names[i], names[i - 1])))
			printf("%s\n", names[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return 0;
}

static const struct kind {
	const char *name;
	int (*list)(void);
	const char *summary;
} kinds[] = {
    {"platforms", list_platforms, "built-in platform profiles"},
    {"devices", list_devices, "device models a driver can run on"},
    {"drivers", list_drivers, "driver modules (example drivers and their buggy twins)"},
    {"rules", list_rules, "the sanitizer's rules (dmacoh explain RULE)"},
    {"exports", list_exports, "kernel routines a driver module may import (dmacoh-cc checks)"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: dmacoh list KIND\n\nkinds:\n");
	for (size_t i = 0; i < DC_ARRAY_SIZE(kinds); i++)
		fprintf(f, "  %-12s %s\n", kinds[i].name, kinds[i].summary);
}

static void kind_names(char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = 0;
	for (size_t i = 0; i < DC_ARRAY_SIZE(kinds) && n < len; i++) {
		int k = snprintf(buf + n, len - n, "%s%s", i ? ", " : "", kinds[i].name);
		if (k > 0)
			n += (size_t)k;
	}
}

int dc_cmd_list(int argc, char **argv)
{
	char names[256];
	kind_names(names, sizeof(names));
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "devices")) {
		for (int i = 2; i < argc; i++)
			if (strcmp(argv[i], "--device-model") || i + 1 >= argc) {
				fprintf(stderr,
				        "dmacoh list devices: %s (usage: dmacoh list devices "
				        "[--device-model FILE.so]...)\n",
				        strcmp(argv[i], "--device-model")
				            ? "unknown argument"
				            : "--device-model needs a file");
				return 2;
			} else {
				i++;
			}
		static const char *files[64];
		for (int i = 3; i < argc && n_dev_model_files < 64; i += 2)
			files[n_dev_model_files++] = argv[i];
		dev_model_files = files;
		return list_devices();
	}
	if (argc != 2) {
		fprintf(stderr, "dmacoh list: %s (one of: %s)\n",
		        argc < 2 ? "missing KIND" : "too many arguments", names);
		return 2;
	}
	for (size_t i = 0; i < DC_ARRAY_SIZE(kinds); i++)
		if (!strcmp(argv[1], kinds[i].name))
			return kinds[i].list();
	fprintf(stderr, "dmacoh list: unknown kind '%s' (one of: %s)\n", argv[1], names);
	return 2;
}
