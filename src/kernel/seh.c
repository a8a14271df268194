/* Structured-exception emulation for driver code (docs/wdk.md): the frames behind the
 * __try/__except/__finally/__leave macros of include/wdk/dc_wdk.h, ExRaiseStatus, and
 * ProbeForRead/ProbeForWrite, which raise STATUS_DATATYPE_MISALIGNMENT or
 * STATUS_ACCESS_VIOLATION as Windows does for a user buffer that is misaligned or not in user
 * space.  A raise unwinds by longjmp to the innermost frame of the current (simulated) thread;
 * with none, the exception is unhandled: bug check 0x1E KMODE_EXCEPTION_NOT_HANDLED, as on
 * Windows.  Deliberately not emulated: hardware faults (a bad pointer dereferenced inside
 * __try is a crash, X01, not an exception), EXCEPTION_CONTINUE_EXECUTION (taken as
 * CONTINUE_SEARCH), __finally on `return`/`goto` out of the __try (the frame is popped, the
 * __finally block does not run), GetExceptionInformation. */
#include <setjmp.h>

#include "kernel.h"

/* The frame as <dc_wdk.h> lays it out (the driver allocates it on its stack). */
struct dc_seh_frame {
	int state;     /* 0 new, 1 in the __try body, 2 in __finally / done, 3 finished */
	int unwinding; /* an exception is passing through this frame */
	NTSTATUS code;
	unsigned depth; /* the shadow call stack's depth at the __try */
	struct dc_seh_frame *prev;
	void *owner; /* the simulated thread that entered the __try */
	jmp_buf jb;
};

unsigned dc_cpu_shadow_depth(void);
void dc_cpu_shadow_unwind(unsigned depth);
int dc_seh_step(struct dc_seh_frame *f);
int dc_seh_filter(struct dc_seh_frame *f, int verdict);
int dc_seh_finally(struct dc_seh_frame *f);
void dc_seh_cleanup(struct dc_seh_frame *f);
DECLSPEC_NORETURN void dc_seh_raise(NTSTATUS code);
DECLSPEC_NORETURN void ExRaiseStatus(NTSTATUS Status);
void ProbeForRead(const volatile void *Address, SIZE_T Length, ULONG Alignment);
void ProbeForWrite(volatile void *Address, SIZE_T Length, ULONG Alignment);

/* Every thread's frames in one list, innermost first (simulated threads share the host
 * thread; a frame carries its owner). */
static _Thread_local struct dc_seh_frame *seh_top;

static void *seh_owner(void)
{
	return dc_sys_cur ? (void *)dc_sys_cur->cur_thread : NULL;
}

static void seh_unlink(struct dc_seh_frame *f)
{
	for (struct dc_seh_frame **pp = &seh_top; *pp; pp = &(*pp)->prev)
		if (*pp == f) {
			*pp = f->prev;
			return;
		}
}

int dc_seh_step(struct dc_seh_frame *f)
{
	switch (f->state) {
	case 0:
		f->owner = seh_owner();
		f->depth = dc_cpu_shadow_depth();
		f->prev = seh_top;
		seh_top = f;
		f->state = 1;
		return 1;
	case 1: /* the body ended (or its exception was handled): a __finally block runs next */
		seh_unlink(f);
		f->state = 2;
		return 1;
	default:
		seh_unlink(f);
		f->state = 3;
		if (f->unwinding)
			dc_seh_raise(f->code); /* on to the next frame out */
		return 0;
	}
}

int dc_seh_filter(struct dc_seh_frame *f, int verdict)
{
	if (verdict > 0) /* EXCEPTION_EXECUTE_HANDLER */
		return 1;
	f->unwinding = 1; /* CONTINUE_SEARCH (and CONTINUE_EXECUTION, not emulated) */
	return 0;
}

int dc_seh_finally(struct dc_seh_frame *f)
{
	if (f->state == 1) { /* reached from the exception: run the block, then unwind on */
		f->unwinding = 1;
		f->state = 2;
	}
	return 1;
}

/* Scope exit without the loop's last step (`return` inside __try): never leave a dead frame. */
void dc_seh_cleanup(struct dc_seh_frame *f)
{
	if (f->state != 3)
		seh_unlink(f);
}

DECLSPEC_NORETURN void dc_seh_raise(NTSTATUS code)
{
	void *owner = seh_owner();
	struct dc_seh_frame *f = seh_top;
	while (f && f->owner != owner)
		f = f->prev;
	if (!f) {
		KeBugCheckEx(0x1E /* KMODE_EXCEPTION_NOT_HANDLED */, (ULONG_PTR)(ULONG)code,
		             (ULONG_PTR)__builtin_return_address(0), 0, 0);
	}
	seh_unlink(f);
	f->code = code;
	dc_cpu_shadow_unwind(f->depth);
	longjmp(f->jb, 1);
}

void ExRaiseStatus(NTSTATUS Status)
{
	dc_seh_raise(Status);
}

/* The highest user-mode address a probe accepts (x64 MM_USER_PROBE_ADDRESS). */
#define DC_USER_PROBE_ADDRESS UINT64_C(0x7FFFFFFF0000)

static void probe(const volatile void *Address, SIZE_T Length, ULONG Alignment)
{
	if (!Length)
		return;
	uint64_t a = (uint64_t)(uintptr_t)Address;
	if (Alignment && (a & (Alignment - 1)))
		dc_seh_raise(STATUS_DATATYPE_MISALIGNMENT);
	if (a + Length < a || a + Length > DC_USER_PROBE_ADDRESS)
		dc_seh_raise(STATUS_ACCESS_VIOLATION);
}

void ProbeForRead(const volatile void *Address, SIZE_T Length, ULONG Alignment)
{
	probe(Address, Length, Alignment);
}

void ProbeForWrite(volatile void *Address, SIZE_T Length, ULONG Alignment)
{
	probe(Address, Length, Alignment);
}
