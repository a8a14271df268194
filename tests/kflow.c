#include "kflow.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/machine.h"
#include "hw/rng.h"

const char *const kf_platforms[] = {"pc", "noncoherent", "noncoherent-prefetch", NULL};

const char *kf_driver_path(const char *name, char *buf, size_t len)
{
	const char *dir = getenv("DMACOH_DRIVER_DIR");
	if (dir) {
		snprintf(buf, len, "%s/%s.so", dir, name);
		return buf;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		n = 0;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	snprintf(buf, len, "%s/../drivers/%s.so", self, name);
	return buf;
}

int kf_open(struct kf *k, const char *plat, uint64_t seed, const char *device,
            const struct dc_sysdev_opts *o, const char *driver)
{
	return kf_open_observed(k, NULL, plat, seed, NULL, NULL, device, o, driver);
}

int kf_open_plat(struct kf *k, const struct dc_platform *p, const char *device,
                 const struct dc_sysdev_opts *o, const char *driver)
{
	return kf_open_observed(k, p, NULL, 0, NULL, NULL, device, o, driver);
}

int kf_open_observed(struct kf *k, const struct dc_platform *p, const char *plat, uint64_t seed,
                     const struct dc_observer *obs, void *opaque, const char *device,
                     const struct dc_sysdev_opts *o, const char *driver)
{
	memset(k, 0, sizeof(*k));
	struct dc_platform bp;
	int err;
	if (!p) {
		if ((err = dc_platform_builtin(plat, &bp))) {
			snprintf(k->err, sizeof(k->err), "no platform %s", plat);
			return err;
		}
		bp.seed = seed;
		p = &bp;
	}
	if ((err = dc_sys_create(p, &k->s))) {
		snprintf(k->err, sizeof(k->err), "dc_sys_create: %s", dc_err_name(err));
		return err;
	}
	if (obs && (err = dc_machine_add_observer(dc_sys_machine(k->s), obs, opaque))) {
		snprintf(k->err, sizeof(k->err), "observer: %s", dc_err_name(err));
		goto fail;
	}
	if ((err = dc_sys_add_device(k->s, device, o, &k->dev))) {
		snprintf(k->err, sizeof(k->err), "add %s: %s", device, dc_err_name(err));
		goto fail;
	}
	char path[PATH_MAX];
	NTSTATUS st = 0;
	err = dc_sys_load_module(k->s, kf_driver_path(driver, path, sizeof(path)), &k->drv, &st,
	                         k->err, sizeof(k->err));
	if (err)
		goto fail;
	if ((err = dc_sys_start_device(k->s, k->drv, k->dev, &k->top, &st))) {
		snprintf(k->err, sizeof(k->err), "start %s: 0x%08X", device, (unsigned)st);
		goto fail;
	}
	return 0;
fail:
	dc_sys_destroy(k->s);
	k->s = NULL;
	return err;
}

void kf_close(struct kf *k)
{
	if (!k->s)
		return;
	dc_sys_remove_device(k->s, k->dev, NULL);
	dc_sys_unload(k->s, k->drv);
	dc_sys_destroy(k->s);
	k->s = NULL;
}

long kf_io(struct kf *k, UCHAR major, uint64_t off, ULONG len, uint32_t boff, enum dc_zone z,
           uint64_t seed, NTSTATUS *status, ULONG_PTR *info, long *first_bad)
{
	struct dc_machine *m = dc_sys_machine(k->s);
	struct dc_device *d = dc_sysdev_device(k->dev);
	uint8_t *want = malloc(len ? len : 1), *got = malloc(len ? len : 1);
	uint8_t *buf = dc_sys_alloc_buffer(k->s, len, boff, z);
	long bad = -1;
	*first_bad = -1;
	if (!want || !got || !buf)
		goto out;
	struct dc_rng r;
	dc_rng_seed(&r, seed);
	for (ULONG i = 0; i < len; i++)
		want[i] = (uint8_t)dc_rng_next(&r);
	if (major == IRP_MJ_WRITE) {
		dc_cpu_write(m, buf, want, len);
	} else {
		d->ops->store_write(d->opaque, off, want, len);
		dc_cpu_fill(m, buf, 0xA5, len);
	}
	PIRP irp = dc_sys_build_rw(k->s, k->top, major, buf, len, off);
	if (!irp)
		goto out;
	dc_sys_send(k->s, irp);
	int w = dc_sys_wait(k->s, irp, UINT64_C(60000000000));
	if (w) {
		snprintf(k->err, sizeof(k->err), "IRP did not complete: %s", dc_err_name(w));
		goto out; /* the IRP stays with the driver */
	}
	IO_STATUS_BLOCK io = dc_sys_finish(k->s, irp);
	*status = io.Status;
	*info = io.Information;
	if (!NT_SUCCESS(io.Status))
		goto out;
	if (major == IRP_MJ_WRITE)
		d->ops->store_read(d->opaque, off, got, len);
	else
		dc_cpu_read(m, buf, got, len);
	bad = 0;
	for (ULONG i = 0; i < len; i++)
		if (got[i] != want[i]) {
			if (*first_bad < 0)
				*first_bad = (long)i;
			bad++;
		}
out:
	if (buf)
		dc_sys_free_buffer(k->s, buf);
	free(want);
	free(got);
	return bad;
}
