/* What the observer's files share (check.c, xfer.c, kev.c): the kernel constants they use, the
 * line and page arithmetic, and the helpers each defines for the others.  Internal to
 * src/check; nothing here is part of the public API. */
#ifndef DC_CHK_H
#define DC_CHK_H

#include "check_int.h"
#include "hw/machine.h"

#define IRP_MJ_READ_ 3
#define KEEP_OBJECT 1
#define DEALLOCATE_OBJECT 2
#define DEALLOCATE_KEEP_REGISTERS 3

#define NO_TIME UINT64_MAX

#define GROW(arr, n, cap) \
	((n) < (cap) || dc_chk_grow((void **)&(arr), &(cap), sizeof(*(arr)), (n) + 1) == 0)

/* Calls fn for each page-bounded part of [pa, pa + len). */
#define EACH_PAGE(pa_, len_, q_, n_)                         \
	for (uint64_t q_ = (pa_), end_ = (pa_) + (len_), n_; \
	     q_ < end_ && ((n_ = DC_MIN(end_, (q_ | DC_PAGE_MASK) + 1) - q_), 1); q_ += n_)

static inline bool nt_success(int64_t st)
{
	return (int32_t)(uint32_t)st >= 0;
}

static inline bool nt_error(int64_t st)
{
	return ((uint32_t)st >> 30) == 3;
}

static inline uint64_t now(const struct dc_check *c)
{
	return c->m->clock.now;
}

static inline uint32_t line_of(const struct dc_check *c, uint64_t pa)
{
	return (uint32_t)((pa & DC_PAGE_MASK) >> c->ls);
}

static inline uint64_t line_size(const struct dc_check *c)
{
	return UINT64_C(1) << c->ls;
}

static inline uint32_t xline(const struct dc_check *c, const struct dc_xfer *x, uint32_t i,
                             uint64_t pa)
{
	return x->lbase[i] + (uint32_t)((pa >> c->ls) - (x->pieces[i].pa >> c->ls));
}

static inline bool noncoherent(const struct dc_check *c)
{
	return c->m->plat.coherency != DC_COHERENT;
}

/* check.c: the finding template, the records' look-ups. */
int dc_chk_grow(void **arr, size_t *cap, size_t elem, size_t need);
unsigned dc_chk_dev_no(struct dc_check *c, const void *dev);
struct dc_finding dc_chk_fnd(enum dc_rule r, const void *pc, uint64_t time);
void dc_chk_site(struct dc_finding *f, const char *label, const void *pc, uint64_t time);
__attribute__((format(printf, 2, 3))) void dc_chk_what(struct dc_finding *f, const char *fmt, ...);
void dc_chk_set_range(struct dc_check *c, struct dc_finding *f, const void *va, uint64_t pa,
                      uint64_t logical, uint64_t len);
struct dc_adapter *dc_chk_adapter_find(struct dc_check *c, const void *ptr);
struct dc_mrb *dc_chk_mrb_find(struct dc_check *c, const void *adapter, const void *mrb);
struct dc_common *dc_chk_common_by_pa(struct dc_check *c, uint64_t pa, uint32_t *piece);
struct dc_irp *dc_chk_irp_find(struct dc_check *c, const void *irp);
struct dc_kev_piece *dc_chk_copy_pieces(const struct dc_kev *e);

/* xfer.c: open transfers, synchronisation, judging device accesses, the CPU and cache
 * observers. */
struct dc_xfer *dc_chk_xfer_find(struct dc_check *c, uint64_t id);
void dc_chk_xfer_free(struct dc_xfer *x);
void dc_chk_xfer_close(struct dc_check *c, struct dc_xfer *x);
struct dc_xfer *dc_chk_xfer_open(struct dc_check *c, const struct dc_kev *e, bool sg);
/* The pieces of x that may overlap bus addresses [lo, hi): positions *first up to (not
 * including) the returned one, piece dc_chk_xfer_piece(x, k) at position k.  With x->lsorted
 * (xfer.c, order_pieces) they are found by bisection, in increasing address, and the piece at
 * *first - 1, if *first > 0, is the last one ending at or before lo; without it, every piece,
 * in the list's order. */
uint32_t dc_chk_xfer_at(const struct dc_xfer *x, uint64_t lo, uint64_t hi, uint32_t *first);
static inline uint32_t dc_chk_xfer_piece(const struct dc_xfer *x, uint32_t k)
{
	return x->lsorted ? x->lorder[k].i : k;
}
void dc_chk_on_cpu_run(void *opaque, const void *va, uint64_t pa, uint32_t len, bool write);
void dc_chk_sync_range(struct dc_check *c, uint64_t pa, uint64_t len, bool pio_read);
void dc_chk_fill_xfer(struct dc_check *c, struct dc_finding *f, const struct dc_xfer *x);
void dc_chk_judge_xfer(struct dc_check *c, struct dc_xfer *x, uint32_t i, uint64_t pa, uint64_t len,
                       bool dev_write, uint64_t time);
void dc_chk_judge_common(struct dc_check *c, const struct dc_common *b, uint32_t k, uint64_t pa,
                         uint64_t len, bool dev_write, uint64_t time);
void dc_chk_on_cpu_access(void *opaque, const void *va, uint64_t pa, uint32_t len, bool write,
                          bool cached, const void *pc);
void dc_chk_on_cache_fill(void *opaque, uint64_t line_pa, bool speculative);
void dc_chk_on_cache_writeback(void *opaque, uint64_t line_pa);
void dc_chk_on_cache_gone(void *opaque, uint64_t line_pa);
void dc_chk_on_cache_maint(void *opaque, const void *va, uint64_t len, int op);
void dc_chk_on_dma(void *opaque, int source, uint64_t pa, uint64_t len, bool write);

/* kev.c: kernel events. */
void dc_chk_on_kev(void *opaque, const struct dc_kev *e);

#endif
