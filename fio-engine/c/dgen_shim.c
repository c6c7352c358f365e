// SPDX-License-Identifier: GPL-2.0-only
/*
 * dgen_shim.c: the fio side of the dgen engine, and the only file that includes fio.h.
 *
 * It holds the ioengine_ops structure, the option table and the callbacks. Each callback
 * reads what it needs from fio's structures and calls the Rust side (dgen_fio.h) with plain
 * arguments; no data generation or ring handling lives here.
 *
 * Reads top to bottom as fio's engines do: options struct, checks, init, queue, commit,
 * getevents/event, cleanup, file hooks, option table, ops.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fio.h"
#include "optgroup.h"

#include "dgen_fio.h"

#ifndef DGEN_FIO_VERSION
#error "DGEN_FIO_VERSION must be defined by build.rs"
#endif

/* Engine options as fio stores them: fio writes the td pointer into the first member. */
struct dgen_eo {
	void *td;
	char *dedupe_ratio;
	char *compress_ratio;
	char *dedupe_unit;
	char *seed;
	char *stream;
	char *io;
	char *verify;
	char *prepopulate;
	unsigned int seed_drawn; /* dgen_seed was absent (or "random"): we drew it */
};

/* Per-job state in td->io_ops_data. */
struct dgen_td {
	struct dgen_job *job;
	struct dgen_job_info info;
};

void dgen_shim_log(int is_err, const char *msg)
{
	if (is_err)
		log_err("%s", msg);
	else
		log_info("%s", msg);
}

const char *dgen_shim_fio_version(void)
{
	return DGEN_FIO_VERSION;
}

static void eo_to_opts(const struct dgen_eo *eo, struct dgen_opts *o)
{
	o->dedupe_ratio = eo->dedupe_ratio;
	o->compress_ratio = eo->compress_ratio;
	o->dedupe_unit = eo->dedupe_unit;
	o->seed = eo->seed;
	o->stream = eo->stream;
	o->io = eo->io;
	o->verify = eo->verify;
	o->prepopulate = eo->prepopulate;
}

/*
 * fio options that fight the engine: they make fio write or stamp its own data into the
 * buffers (which the engine overwrites in queue(), so they would only waste CPU and mislead),
 * or verify with fio's own scheme (which cannot know the generated content).
 */
static int check_conflicts(struct thread_data *td)
{
	struct thread_options *o = &td->o;
	const char *bad = NULL;

	if (o->verify != 0 /* VERIFY_NONE; verify.h needs fio-internal macros */)
		bad = "verify (use dgen_verify=1: it checks every byte read against the generated content)";
	else if (o->verify_only)
		bad = "verify_only (use a read job with dgen_verify=1)";
	else if (o->buffer_pattern_bytes)
		bad = "buffer_pattern";
	else if (o->compress_percentage)
		bad = "buffer_compress_percentage (use dgen_compress_ratio)";
	else if (o->dedupe_percentage)
		bad = "dedupe_percentage (use dgen_dedupe_ratio)";
	else if (o->refill_buffers)
		bad = "refill_buffers (the engine fills every write buffer itself)";
	else if (o->zero_buffers)
		bad = "zero_buffers (the engine fills every write buffer itself)";
	else if (o->scramble_buffers && fio_option_is_set(o, scramble_buffers))
		bad = "scramble_buffers=1 (the engine fills every write buffer itself)";

	if (bad) {
		log_err("dgen: job %s: fio option %s cannot be used with the dgen engine\n",
			o->name, bad);
		td_vmsg(td, EINVAL, "conflicting fio option", "dgen init");
		return 1;
	}
	return 0;
}

/* ---- init / cleanup ---- */

static int dgen_init(struct thread_data *td)
{
	struct dgen_eo *eo = td->eo;
	struct dgen_opts opts;
	struct dgen_td *dt;

	if (check_conflicts(td))
		return 1;

	dt = calloc(1, sizeof(*dt));
	if (!dt) {
		td_verror(td, ENOMEM, "dgen init");
		return 1;
	}
	eo_to_opts(eo, &opts);
	dt->job = dgen_rs_job_new(&opts, td->o.name, td->o.iodepth, &dt->info);
	if (!dt->job) {
		free(dt);
		td_vmsg(td, EINVAL, "invalid dgen option (see message above)", "dgen init");
		return 1;
	}
	if (eo->seed_drawn)
		log_info("dgen: job %s: no dgen_seed given, drew dgen_seed=%s (use it to reproduce or verify this run)\n",
			 td->o.name, eo->seed);

	/* fio would scramble buffers after prep(); queue() overwrites them anyway. */
	td->o.scramble_buffers = 0;

	/* psync and null complete in queue(): let fio time them as a synchronous engine. */
	if (dt->info.io_mode != DGEN_IO_URING)
		td->flags |= ((unsigned long long)FIO_SYNCIO) << TD_ENG_FLAG_SHIFT;

	td->io_ops_data = dt;
	return 0;
}

static void dgen_cleanup(struct thread_data *td)
{
	struct dgen_td *dt = td->io_ops_data;

	if (!dt)
		return;
	dgen_rs_job_free(dt->job);
	free(dt);
	td->io_ops_data = NULL;
}

/* ---- queue / commit / getevents / event ---- */

/* Synchronous sync/trim, as fio's io_uring engine does for trim. */
static enum fio_q_status queue_sync_or_trim(struct thread_data *td, struct io_u *io_u)
{
	int ret;

	if (io_u->ddir == DDIR_TRIM)
		ret = do_io_u_trim(td, io_u);
	else
		ret = do_io_u_sync(td, io_u);
	if (ret < 0 && !io_u->error)
		io_u->error = errno;
	if (io_u->error)
		td_verror(td, io_u->error, "dgen sync/trim");
	return FIO_Q_COMPLETED;
}

/* Applies the result of a read/write (bytes or -errno), verifying reads when asked. */
static void complete_rw(struct thread_data *td, struct dgen_td *dt, struct io_u *io_u,
			int64_t res)
{
	struct fio_file *f = io_u->file;

	if (res < 0) {
		io_u->error = (unsigned int)-res;
		return;
	}
	if ((unsigned long long)res > io_u->xfer_buflen) {
		io_u->error = EIO;
		return;
	}
	io_u->resid = io_u->xfer_buflen - (unsigned long long)res;
	io_u->error = 0;
	if (io_u->ddir == DDIR_READ && dt->info.verify && res > 0)
		io_u->error = (unsigned int)dgen_rs_verify(dt->job, f->fileno, f->file_name,
							   io_u->offset, io_u->xfer_buf,
							   (size_t)res);
}

static enum fio_q_status dgen_queue(struct thread_data *td, struct io_u *io_u)
{
	struct dgen_td *dt = td->io_ops_data;
	struct fio_file *f = io_u->file;
	int is_write = io_u->ddir == DDIR_WRITE;
	int ret;

	if (io_u->ddir != DDIR_READ && io_u->ddir != DDIR_WRITE) {
		if (dt->info.io_mode == DGEN_IO_NULL)
			return FIO_Q_COMPLETED;
		/* like fio's io_uring engine: submit what is queued first */
		if (dt->info.io_mode == DGEN_IO_URING && dgen_rs_uring_pending(dt->job))
			return FIO_Q_BUSY;
		return queue_sync_or_trim(td, io_u);
	}

	/* Fill here, not in prep(): fio stamps buffers after prep(). */
	if (is_write) {
		ret = dgen_rs_fill(dt->job, f->fileno, f->file_name, io_u->offset,
				   io_u->xfer_buf, io_u->xfer_buflen);
		if (ret) {
			io_u->error = ret;
			td_verror(td, ret, "dgen fill");
			return FIO_Q_COMPLETED;
		}
	}

	switch (dt->info.io_mode) {
	case DGEN_IO_NULL:
		io_u->error = 0;
		return FIO_Q_COMPLETED;
	case DGEN_IO_PSYNC:
		complete_rw(td, dt, io_u,
			    dgen_rs_psync(f->fd, is_write, io_u->xfer_buf, io_u->xfer_buflen,
					  io_u->offset));
		if (io_u->error) {
			io_u_log_error(td, io_u);
			td_verror(td, io_u->error, "dgen xfer");
		}
		return FIO_Q_COMPLETED;
	default:
		ret = dgen_rs_uring_queue(dt->job, (uint64_t)(uintptr_t)io_u, f->fd, is_write,
					  io_u->xfer_buf, io_u->xfer_buflen, io_u->offset);
		if (ret == 0)
			return FIO_Q_QUEUED;
		if (ret == 1)
			return FIO_Q_BUSY;
		io_u->error = -ret;
		td_verror(td, io_u->error, "dgen queue");
		return FIO_Q_COMPLETED;
	}
}

static int dgen_commit(struct thread_data *td)
{
	struct dgen_td *dt = td->io_ops_data;
	int ret;

	if (dt->info.io_mode != DGEN_IO_URING)
		return 0;
	ret = dgen_rs_uring_commit(dt->job);
	if (ret < 0) {
		td_verror(td, -ret, "dgen io_uring submit");
		return ret;
	}
	if (ret > 0)
		io_u_mark_submit(td, ret);
	return 0;
}

static int dgen_getevents(struct thread_data *td, unsigned int min, unsigned int max,
			  const struct timespec fio_unused *t)
{
	struct dgen_td *dt = td->io_ops_data;
	int ret;

	if (dt->info.io_mode != DGEN_IO_URING)
		return 0;
	ret = dgen_rs_uring_getevents(dt->job, min, max);
	if (ret < 0)
		td_verror(td, -ret, "dgen io_uring getevents");
	return ret;
}

static struct io_u *dgen_event(struct thread_data *td, int event)
{
	struct dgen_td *dt = td->io_ops_data;
	int32_t res = 0;
	struct io_u *io_u;

	io_u = (struct io_u *)(uintptr_t)dgen_rs_uring_event(dt->job, (unsigned int)event, &res);
	complete_rw(td, dt, io_u, res);
	return io_u;
}

/* ---- file hooks ---- */

static int dgen_open_file(struct thread_data *td, struct fio_file *f)
{
	struct dgen_td *dt = td->io_ops_data;

	/* No-I/O mode: keep fio's file handling happy with a descriptor that costs nothing. */
	if (dt && dt->info.io_mode == DGEN_IO_NULL) {
		f->fd = open("/dev/null", O_RDWR);
		if (f->fd < 0) {
			td_verror(td, errno, "open /dev/null");
			return 1;
		}
		return 0;
	}
	return generic_open_file(td, f);
}

static int dgen_mode_from_options(struct thread_data *td)
{
	const struct dgen_eo *eo = td->eo;

	return eo ? dgen_rs_io_mode(eo->io) : DGEN_IO_URING;
}

/*
 * Runs before fio decides whether to lay files out: reject conflicting options this early,
 * and remember each file's size so prepopulate can tell a fresh layout from existing data.
 */
static int dgen_get_file_size(struct thread_data *td, struct fio_file *f)
{
	int ret;

	if (check_conflicts(td))
		return 1;
	if (dgen_mode_from_options(td) == DGEN_IO_NULL) {
		/* like a character device: fio takes the size from size= */
		f->real_file_size = -1ULL;
		fio_file_set_size_known(f);
		f->engine_pos = -1ULL;
		return 0;
	}
	ret = generic_get_file_size(td, f);
	f->engine_pos = ret ? 0 : f->real_file_size;
	return ret;
}

/*
 * fio has just laid out fresh files of read (or overwrite) jobs with its own bytes: replace
 * them with generated content, so a read or verify job sees what the engine would have
 * written. Existing files (size already sufficient) are left alone.
 */
static int dgen_prepopulate_file(struct thread_data *td, struct fio_file *f)
{
	const struct dgen_eo *eo = td->eo;
	struct dgen_opts opts;
	int new_layout, fd, ret;
	unsigned long long chunk;

	new_layout = td_read(td) || (td_write(td) && td->o.overwrite && !td->o.file_append);
	if (f->filetype != FIO_TYPE_FILE || dgen_mode_from_options(td) == DGEN_IO_NULL ||
	    !new_layout || f->real_file_size == -1ULL || f->real_file_size <= f->engine_pos) {
		/* Nothing to write. fio invalidates the cache through f->fd next and closes it:
		 * hand it a descriptor (/dev/null where the file cannot be opened). */
		fd = open(f->file_name, O_RDONLY);
		if (fd < 0)
			fd = open("/dev/null", O_RDONLY);
		f->fd = fd;
		return 0;
	}
	eo_to_opts(eo, &opts);

	fd = open(f->file_name, O_WRONLY);
	if (fd < 0) {
		td_verror(td, errno, "dgen prepopulate open");
		return 1;
	}
	chunk = td->o.max_bs[DDIR_WRITE];
	if (chunk < (1ULL << 20))
		chunk = 1ULL << 20;
	ret = dgen_rs_prepopulate(&opts, td->o.name, f->file_name, fd, f->real_file_size,
				  (size_t)chunk);
	if (!ret && td->o.create_fsync && fsync(fd) < 0)
		ret = errno;
	if (ret) {
		close(fd);
		td_verror(td, ret, "dgen prepopulate");
		return 1;
	}
	f->fd = fd; /* fio invalidates its cache and closes it */
	return 0;
}

/* ---- options ---- */

#define DGEN_STR_OPTION(oname, olname, member, odef, ohelp)		\
	{								\
		.name = (oname),					\
		.lname = (olname),					\
		.type = FIO_OPT_STR_STORE,				\
		.off1 = offsetof(struct dgen_eo, member),		\
		.cb = cb_##member,					\
		.def = (odef),						\
		.help = (ohelp),					\
		.category = FIO_OPT_C_ENGINE,				\
		.group = FIO_OPT_G_INVALID,				\
	}

#define DGEN_CHECK_CB(member, oname)					\
	static int cb_##member(void *data, const char *value)		\
	{								\
		(void)data;						\
		return dgen_rs_check_option((oname), value);		\
	}

DGEN_CHECK_CB(dedupe_ratio, "dgen_dedupe_ratio")
DGEN_CHECK_CB(compress_ratio, "dgen_compress_ratio")
DGEN_CHECK_CB(dedupe_unit, "dgen_dedupe_unit")
DGEN_CHECK_CB(stream, "dgen_stream")
DGEN_CHECK_CB(io, "dgen_io")
DGEN_CHECK_CB(verify, "dgen_verify")
DGEN_CHECK_CB(prepopulate, "dgen_prepopulate")

/* The seed is drawn once, when the option is parsed, so every user of it (the parent's
 * prepopulate, the job, its numjobs clones) sees the same value. */
static int cb_seed(void *data, const char *value)
{
	struct dgen_eo *eo = data;
	char buf[32];

	if (strcmp(value, "random") != 0) {
		eo->seed_drawn = 0;
		return dgen_rs_check_option("dgen_seed", value);
	}
	if (dgen_rs_random_seed(buf, sizeof(buf)))
		return 1;
	free(eo->seed);
	eo->seed = strdup(buf);
	if (!eo->seed)
		return 1;
	eo->seed_drawn = 1;
	return 0;
}

static struct fio_option dgen_options[] = {
	DGEN_STR_OPTION("dgen_dedupe_ratio", "dgen dedup ratio", dedupe_ratio, "1",
			"Deduplication ratio d >= 1 (any real number, e.g. 2 or 1.37): a 1/d share of dedup blocks is unique"),
	DGEN_STR_OPTION("dgen_compress_ratio", "dgen compression ratio", compress_ratio, "1",
			"Compression ratio c >= 1 (any real number, e.g. 3 or 1.5): every 4 KiB unit compresses to about 1/c"),
	DGEN_STR_OPTION("dgen_dedupe_unit", "dgen dedup unit", dedupe_unit, "128k",
			"Dedup block size: a power of two from 4k to 16m, fio-style size (64k, 1m)"),
	DGEN_STR_OPTION("dgen_seed", "dgen seed", seed, "random",
			"Seed (unsigned 64-bit integer); 'random' (default) draws one and prints it"),
	DGEN_STR_OPTION("dgen_stream", "dgen stream id policy", stream, "name",
			"Stream id of each file: 'name' (default: xxh3 of the file name, as dgen gen --stream-id) or a fixed integer for every file"),
	DGEN_STR_OPTION("dgen_io", "dgen I/O mode", io, "uring",
			"How the engine does I/O: 'uring' (own io_uring ring per job), 'psync' (pread/pwrite) or 'null' (generate only, no I/O)"),
	DGEN_STR_OPTION("dgen_verify", "dgen verify reads", verify, "0",
			"1: compare every byte read with the generated content; a mismatch fails the io_u with EILSEQ"),
	DGEN_STR_OPTION("dgen_prepopulate", "dgen prepopulate fresh files", prepopulate, "1",
			"1 (default): when fio lays out a fresh file for a read job, rewrite it with generated content; 0: keep fio's layout"),
	{
		.name = NULL,
	},
};

/* ---- the ops structure (writable: fio stores the dlopen handle in it) ---- */

static struct ioengine_ops dgen_ops = {
	.name = "dgen",
	.version = FIO_IOOPS_VERSION,
	.flags = FIO_NO_OFFLOAD,
	.init = dgen_init,
	.queue = dgen_queue,
	.commit = dgen_commit,
	.getevents = dgen_getevents,
	.event = dgen_event,
	.cleanup = dgen_cleanup,
	.open_file = dgen_open_file,
	.close_file = generic_close_file,
	.get_file_size = dgen_get_file_size,
	.prepopulate_file = dgen_prepopulate_file,
	.options = dgen_options,
	.option_struct_size = sizeof(struct dgen_eo),
};

void *dgen_shim_ops(void)
{
	return &dgen_ops;
}
