/* MmAllocatePagesForMdl(Ex) and MmFreePagesFromMdl: physical pages described by an MDL that
 * lives in nonpaged pool (the caller frees it with ExFreePool after MmFreePagesFromMdl, as on
 * Windows).  Pages are physically scattered, as Windows hands them out, unless
 * MM_ALLOCATE_REQUIRE_CONTIGUOUS_CHUNKS asks for one run; below HighAddress (zones: ISA,
 * 32-bit, any); zeroed unless MM_DONT_ZERO_ALLOCATION; MmNonCached pages come from the
 * uncached window.  The MDL is locked and has no system mapping of its own:
 * MmGetSystemAddressForMdlSafe maps it.  Not modelled: LowAddress and SkipBytes (the
 * simulated memory has one range), partial allocations (all or nothing), NUMA nodes. */
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

#define RA() __builtin_return_address(0)

struct mdlpages {
	struct mdlpages *next;
	struct dc_sys *s;
	PMDL mdl;
	void *va;
	uint64_t pages;
	bool cached;
};
static _Thread_local struct mdlpages *allocs;

PMDL MmAllocatePagesForMdlEx(PHYSICAL_ADDRESS LowAddress, PHYSICAL_ADDRESS HighAddress,
                             PHYSICAL_ADDRESS SkipBytes, SIZE_T TotalBytes,
                             MEMORY_CACHING_TYPE CacheType, ULONG Flags)
{
	(void)LowAddress, (void)SkipBytes;
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "MmAllocatePagesForMdlEx", PASSIVE_LEVEL, APC_LEVEL, RA());
	if (!TotalBytes || TotalBytes > (SIZE_T)UINT32_MAX - DC_PAGE_SIZE)
		return NULL;
	uint64_t pages = (TotalBytes + DC_PAGE_SIZE - 1) >> DC_PAGE_SHIFT;
	uint64_t h = (uint64_t)HighAddress.QuadPart;
	enum dc_zone z = h < (UINT64_C(16) << 20)  ? DC_ZONE_ISA
	                 : h < (UINT64_C(4) << 30) ? DC_ZONE_DMA32
	                                           : DC_ZONE_ANY;
	struct mdlpages *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->cached = CacheType != MmNonCached;
	bool contig = (Flags & MM_ALLOCATE_REQUIRE_CONTIGUOUS_CHUNKS) != 0;
	a->va =
	    a->cached ? dc_alloc_cached(s->m, pages, z, contig) : dc_alloc_uncached(s->m, pages, z);
	if (!a->va) {
		free(a);
		return NULL;
	}
	a->pages = pages;
	if (!(Flags & MM_DONT_ZERO_ALLOCATION)) {
		if (a->cached)
			dc_cpu_fill(s->m, a->va, 0, pages * DC_PAGE_SIZE);
		else
			memset(a->va, 0, pages * DC_PAGE_SIZE);
	}
	/* The MDL itself is pool, which the caller gives back with ExFreePool. */
	SIZE_T sz = MmSizeOfMdl(a->va, (SIZE_T)(pages * DC_PAGE_SIZE));
	PMDL mdl = ExAllocatePoolWithTag(NonPagedPool, sz, 'ldMM');
	if (!mdl) {
		if (a->cached)
			dc_free_cached(s->m, a->va, pages);
		else
			dc_free_uncached(s->m, a->va, pages);
		free(a);
		return NULL;
	}
	dc_ktouch(s, mdl, sz, true);
	MmInitializeMdl(mdl, a->va, (SIZE_T)(pages * DC_PAGE_SIZE));
	MmBuildMdlForNonPagedPool(mdl); /* the PFNs, and the MDL becomes one the kernel knows */
	mdl->MdlFlags = (CSHORT)((mdl->MdlFlags & ~MDL_SOURCE_IS_NONPAGED_POOL) | MDL_PAGES_LOCKED);
	mdl->ByteCount = (ULONG)TotalBytes;
	a->mdl = mdl;
	a->s = s;
	a->next = allocs;
	allocs = a;
	return mdl;
}

PMDL MmAllocatePagesForMdl(PHYSICAL_ADDRESS LowAddress, PHYSICAL_ADDRESS HighAddress,
                           PHYSICAL_ADDRESS SkipBytes, SIZE_T TotalBytes)
{
	return MmAllocatePagesForMdlEx(LowAddress, HighAddress, SkipBytes, TotalBytes, MmCached, 0);
}

VOID MmFreePagesFromMdl(PMDL MemoryDescriptorList)
{
	struct dc_sys *s = dc_k();
	dc_irql_require(s, "MmFreePagesFromMdl", PASSIVE_LEVEL, DISPATCH_LEVEL, RA());
	for (struct mdlpages **pp = &allocs; *pp; pp = &(*pp)->next) {
		struct mdlpages *a = *pp;
		if (a->s != s || a->mdl != MemoryDescriptorList)
			continue;
		*pp = a->next;
		if (a->cached)
			dc_free_cached(s->m, a->va, a->pages);
		else
			dc_free_uncached(s->m, a->va, a->pages);
		free(a);
		/* The MDL stays the caller's to ExFreePool; it describes no pages now. */
		dc_ktouch(s, MemoryDescriptorList, sizeof(MDL), true);
		MemoryDescriptorList->MdlFlags &=
		    (CSHORT) ~(MDL_PAGES_LOCKED | MDL_MAPPED_TO_SYSTEM_VA);
		return;
	}
	dc_kbugcheck(s, 0x4E /* PFN_LIST_CORRUPT */,
	             "MmFreePagesFromMdl of an MDL MmAllocatePagesForMdl did not return (or freed "
	             "already)",
	             RA());
}

/* Pages still allocated when the system goes are simply forgotten (the machine goes too). */
void dc_mdlpages_fini(struct dc_sys *s)
{
	for (struct mdlpages **pp = &allocs; *pp;) {
		struct mdlpages *a = *pp;
		if (a->s == s) {
			*pp = a->next;
			free(a);
		} else {
			pp = &a->next;
		}
	}
}
