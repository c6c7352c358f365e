/*
 * A fault injector for the fault-matrix tests (tests/fault_injection.rs), loaded with LD_PRELOAD.
 * It fails chosen calls the way a failing device or an exhausted system would, where this machine
 * has no device-mapper error target and no seccomp tooling:
 *
 *   DGEN_FAULT_PWRITE_EIO_AT=N   pwrite/pwrite64 of bytes at or past offset N fail with EIO
 *   DGEN_FAULT_THREAD_EAGAIN=N   the N-th pthread_create (1-based) and later fail with EAGAIN
 *   DGEN_FAULT_URING_EIO_AFTER=N io_uring_enter (through syscall(2)) fails with EIO after N calls
 *
 * Unset variables inject nothing. The rest goes to the real functions (dlsym RTLD_NEXT).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static long long env_ll(const char *name)
{
	const char *v = getenv(name);
	return v ? atoll(v) : -1;
}

static int fail_pwrite(off_t offset, size_t count)
{
	long long at = env_ll("DGEN_FAULT_PWRITE_EIO_AT");
	return at >= 0 && (long long)offset + (long long)count > at;
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);
	if (!real)
		real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
	if (fail_pwrite(offset, count)) {
		errno = EIO;
		return -1;
	}
	return real(fd, buf, count, offset);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset)
{
	return pwrite64(fd, buf, count, offset);
}

int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg)
{
	static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	static int calls;
	long long from = env_ll("DGEN_FAULT_THREAD_EAGAIN");
	if (!real)
		real = (int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))
			dlsym(RTLD_NEXT, "pthread_create");
	if (from > 0 && __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST) >= from)
		return EAGAIN;
	return real(thread, attr, start, arg);
}

long syscall(long number, ...)
{
	static long (*real)(long, ...);
	static long enters;
	long a[6];
	va_list ap;
	int i;

	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	va_start(ap, number);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (number == SYS_io_uring_enter) {
		long long after = env_ll("DGEN_FAULT_URING_EIO_AFTER");
		if (after >= 0 && __atomic_add_fetch(&enters, 1, __ATOMIC_SEQ_CST) > after) {
			errno = EIO;
			return -1;
		}
	}
	return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
