/* Simulated memory: sparse, non-contiguous frames, zones, the two windows. */
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "dctest.h"
#include "hw/machine.h"

DC_TEST(mem_frames_not_contiguous)
{
	struct dc_mem m;
	CHECK(dc_mem_init(&m, 64ull << 20, 64ull << 20) == 0);
	uint8_t *va = dc_mem_map(&m, 32, DC_ZONE_ANY, false);
	CHECK(va);
	for (int i = 0; i + 1 < 32; i++) {
		uint64_t a = dc_mem_va_to_pa(&m, va + i * 4096);
		uint64_t b = dc_mem_va_to_pa(&m, va + (i + 1) * 4096);
		CHECK_MSG(b != a + 4096, "pages %d and %d physically ascending", i, i + 1);
	}
	/* Byte offset is kept, and the reverse map finds the cached address. */
	uint64_t pa = dc_mem_va_to_pa(&m, va + 5 * 4096 + 123);
	CHECK_EQ(pa & 4095, 123);
	CHECK(dc_mem_pa_to_cached(&m, pa) == va + 5 * 4096 + 123);
	dc_mem_unmap(&m, va, 32);
	CHECK_EQ(m.frames_in_use, 0);
	CHECK(dc_mem_va_to_pa(&m, va) == DC_PA_INVALID);
	dc_mem_fini(&m);
}

DC_TEST(mem_zones)
{
	struct dc_mem m;
	CHECK(dc_mem_init(&m, 8ull << 30, 1ull << 30) == 0);
	uint8_t *isa = dc_mem_map(&m, 4, DC_ZONE_ISA, false);
	uint8_t *d32 = dc_mem_map(&m, 4, DC_ZONE_DMA32, false);
	uint8_t *high = dc_mem_map(&m, 4, DC_ZONE_HIGH, true);
	CHECK(isa && d32 && high);
	for (int i = 0; i < 4; i++) {
		CHECK(dc_mem_va_to_pa(&m, isa + i * 4096) < (16ull << 20));
		uint64_t p = dc_mem_va_to_pa(&m, d32 + i * 4096);
		CHECK(p >= (16ull << 20) && p < (4ull << 30));
		CHECK_EQ(dc_mem_va_to_pa(&m, high + i * 4096),
		         dc_mem_va_to_pa(&m, high) + (uint64_t)i * 4096);
		CHECK(dc_mem_va_to_pa(&m, high + i * 4096) >= (4ull << 30));
	}
	dc_mem_fini(&m);
}

static long rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Tens of GiB simulated cost nothing until touched. */
DC_TEST(mem_large_and_sparse)
{
	struct dc_mem m;
	long before = rss_kib();
	CHECK(dc_mem_init(&m, 48ull << 30, 64ull << 30) == 0);
	uint8_t *va = dc_mem_map(&m, 256, DC_ZONE_HIGH, false);
	CHECK(va);
	uint64_t pa = dc_mem_va_to_pa(&m, va + 255 * 4096);
	CHECK(pa >= (4ull << 30) && pa < (48ull << 30));
	memset(dc_mem_pa_ptr(&m, pa), 0x5a, 4096);
	long grew = rss_kib() - before;
	CHECK_MSG(grew < 64 * 1024, "resident memory grew by %ld KiB", grew);
	dc_mem_fini(&m);
}

DC_TEST(mem_exhaustion_is_an_error)
{
	struct dc_mem m;
	CHECK(dc_mem_init(&m, 1ull << 20, 64ull << 20) == 0); /* 256 frames, 255 usable */
	uint8_t *a = dc_mem_map(&m, 200, DC_ZONE_ANY, false);
	CHECK(a);
	CHECK(dc_mem_map(&m, 100, DC_ZONE_ANY, false) == NULL);
	CHECK_EQ(m.frames_in_use, 200); /* the failed map gave its frames back */
	CHECK(dc_mem_map(&m, 55, DC_ZONE_ANY, false) != NULL);
	CHECK(dc_mem_init(&(struct dc_mem){0}, 12345, 4096) == DC_ERR_INVAL);
	dc_mem_fini(&m);
}

DC_TEST(mem_va_reuse)
{
	struct dc_mem m;
	CHECK(dc_mem_init(&m, 64ull << 20, 64ull << 20) == 0);
	for (int i = 0; i < 10000; i++) {
		uint8_t *a = dc_mem_map(&m, 3, DC_ZONE_ANY, false);
		CHECK(a);
		dc_mem_unmap(&m, a, 3);
	}
	CHECK(m.va_bump < 16);
	CHECK_EQ(m.frames_in_use, 0);
	dc_mem_fini(&m);
}

/* Uncached window: a CPU access is a memory access; maintenance on it does nothing. */
DC_TEST(mem_uncached_window_is_memory)
{
	struct dc_platform p;
	CHECK(dc_platform_builtin("noncoherent", &p) == 0);
	struct dc_machine *m = NULL;
	CHECK(dc_machine_create(&p, &m) == 0);
	uint8_t *u = dc_alloc_uncached(m, 2, DC_ZONE_DMA32);
	CHECK(u);
	uint64_t pa = dc_va_to_pa(m, u);
	CHECK(pa != DC_PA_INVALID);
	dc_cpu_write(m, u + 4000, "abcdefghij", 10);
	uint8_t dev[10];
	dc_dma_read(m, 0, pa + 4000, dev, 10);
	CHECK(!memcmp(dev, "abcdefghij", 10));
	CHECK_EQ(m->st.uncached, 1);
	CHECK_EQ(dc_cpu_cache_range(m, u, 8192, DC_CACHE_CLEAN_INVAL, true), 0);
	dc_free_uncached(m, u, 2);
	dc_machine_destroy(m);
}

/* Range maintenance over a huge range walks the cache, not the range. */
DC_TEST(mem_range_maintenance_bounded_by_cache)
{
	struct dc_platform p;
	CHECK(dc_platform_builtin("noncoherent", &p) == 0);
	p.adv = (struct dc_adversary){0};
	struct dc_machine *m = NULL;
	CHECK(dc_machine_create(&p, &m) == 0);
	uint64_t pages = (256ull << 20) >> 12;
	uint8_t *big = dc_alloc_cached(m, pages, DC_ZONE_ANY, false);
	CHECK(big);
	/* 1 MiB apart, each in its own set (+ i lines), so all 100 stay cached. */
	for (int i = 0; i < 100; i++)
		dc_cpu_fill(m, big + (uint64_t)i * (1048576 + 64), i, 64);
	uint64_t n = dc_cpu_cache_range(m, big, pages << 12, DC_CACHE_CLEAN_INVAL, false);
	CHECK_EQ(n, 100);
	for (int i = 0; i < 100; i++)
		CHECK_EQ(
		    *dc_mem_pa_ptr(&m->mem, dc_va_to_pa(m, big + (uint64_t)i * (1048576 + 64))), i);
	dc_free_cached(m, big, pages);
	dc_machine_destroy(m);
}

static bool resident(const void *p)
{
	unsigned char v = 0;
	return mincore((void *)((uintptr_t)p & ~(uintptr_t)4095), 4096, &v) == 0 && (v & 1);
}

/* Unmapped pages give their host memory back, in batches (DC_MEM_RELEASE_BATCH pages), and
 * never a page that was mapped again before its batch was released. */
DC_TEST(mem_unmapped_host_pages_released_in_batches)
{
	struct dc_mem m;
	CHECK(dc_mem_init(&m, 256ull << 20, 256ull << 20) == 0);
	uint8_t *a = dc_mem_map(&m, 4, DC_ZONE_ANY, false);
	CHECK(a);
	memset(a, 0x11, 4 * 4096);
	dc_mem_unmap(&m, a, 4);
	uint8_t *b = dc_mem_map(&m, 4, DC_ZONE_ANY, false);
	CHECK(b == a); /* the free list hands the span out again */
	memset(b, 0x22, 4 * 4096);
	/* Enough other spans, touched and unmapped, to release a batch. */
	uint8_t *big = dc_mem_map(&m, DC_MEM_RELEASE_BATCH, DC_ZONE_ANY, false);
	CHECK(big);
	memset(big, 0x33, (size_t)DC_MEM_RELEASE_BATCH * 4096);
	CHECK(resident(big));
	dc_mem_unmap(&m, big, DC_MEM_RELEASE_BATCH);
	CHECK(!resident(big));
	CHECK(!resident(big + ((size_t)DC_MEM_RELEASE_BATCH - 1) * 4096));
	CHECK(b[0] == 0x22 && b[4 * 4096 - 1] == 0x22); /* mapped again: kept */
	dc_mem_unmap(&m, b, 4);
	dc_mem_fini(&m);
}
