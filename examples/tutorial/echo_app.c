/*
 * echo_app.c -- the tutorial's test application, written as a Windows console program: it opens
 * the echo device by the symbolic link its driver creates, sends frames of every size class
 * and buffer placement, reads each one back, and compares.  Built with `dmacoh-cc --app`, run
 * with `dmacoh run --app`; its buffers are simulated user memory, so the sanitizer watches the
 * driver's DMA into and out of them.
 *
 * Usage: echo_app [FRAMES [SEED]]   (default 64 frames, seed 1).  Exit status 0 when every
 * frame came back intact, 1 otherwise (dmacoh adds its own verdict to it).
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAME (16 * 1024)

static unsigned long long rng_state;

static unsigned next_random(void)
{
	/* xorshift64*: deterministic for a seed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (unsigned)((rng_state * 2685821657736338717ULL) >> 32);
}

int main(int argc, char **argv)
{
	unsigned frames = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 64;
	unsigned long long seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
	/* one page of slack on each side so frames can start anywhere in a page */
	unsigned char *tx = (unsigned char *)malloc(MAX_FRAME + 8192);
	unsigned char *rx = (unsigned char *)malloc(MAX_FRAME + 8192);
	HANDLE h;
	unsigned i, bad = 0;

	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	if (tx == NULL || rx == NULL) {
		printf("echo_app: out of memory\n");
		return 1;
	}
	h = CreateFileA("\\\\.\\Echo0", GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
	                FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		printf("echo_app: CreateFile(\\\\.\\Echo0) failed: error %lu\n",
		       (unsigned long)GetLastError());
		return 1;
	}
	for (i = 0; i < frames; i++) {
		/* sizes from 1 byte to 16 KiB, placements anywhere in the first page */
		DWORD len = 1 + next_random() % (i % 4 == 3 ? MAX_FRAME : 1500);
		unsigned char *out = tx + next_random() % 4096;
		unsigned char *in = rx + next_random() % 4096;
		DWORD done = 0, got = 0, k;

		for (k = 0; k < len; k++)
			out[k] = (unsigned char)next_random();
		memset(in, 0xEE, len);
		if (!WriteFile(h, out, len, &done, NULL) || done != len) {
			printf("echo_app: frame %u: WriteFile(%lu) failed: error %lu\n", i,
			       (unsigned long)len, (unsigned long)GetLastError());
			bad++;
			break;
		}
		if (!ReadFile(h, in, len, &got, NULL) || got != len) {
			printf("echo_app: frame %u: ReadFile(%lu) got %lu bytes, error %lu\n", i,
			       (unsigned long)len, (unsigned long)got,
			       (unsigned long)GetLastError());
			bad++;
			break;
		}
		if (memcmp(in, out, len) != 0) {
			for (k = 0; k < len && in[k] == out[k]; k++)
				;
			printf("echo_app: frame %u (%lu bytes): byte %lu came back 0x%02x, sent "
			       "0x%02x\n",
			       i, (unsigned long)len, (unsigned long)k, in[k], out[k]);
			bad++;
		}
	}
	CloseHandle(h);
	free(tx);
	free(rx);
	printf("echo_app: %u frames, %u bad\n", frames, bad);
	return bad ? 1 : 0;
}
