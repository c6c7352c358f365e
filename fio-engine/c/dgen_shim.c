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
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	char *compress_codec;
	char *map;
	char *map_durability;
	char *map_trimmed;
	char *dedupe_working_set;
	char *dedupe_skew;
	char *dedupe_scope;
	char *dedupe_shifted;
	char *profile;
	char *cmdprio; /* cmdprio_* (refused: see cb_cmdprio) */
	unsigned int seed_drawn; /* dgen_seed was absent (or "random"): we drew it */
	unsigned int fixed_up;	 /* fixup_once() ran for this job */
};


/* Per-job state in td->io_ops_data. */
struct dgen_td {
	struct dgen_job *job;
	struct dgen_job_info info;
};

/*
 * Every message goes to stderr and never to stdout: stdout (or the --output file) carries fio's
 * report, which must stay parseable as JSON, json+ or terse. fio's log_info writes to that
 * report, and log_err also copies into it when --output is given (f_err is then the output
 * file, see log.c), so neither is used for local runs. In addition:
 * - in normal output format with --output=FILE, the message is copied into FILE (as fio's own
 *   notes are), since nothing there is parsed;
 * - in a `fio --server` backend, stderr is the server's; errors are also sent to the client
 *   (fio's log_err), where they join fio's own error messages. Informational lines are not
 *   sent: the client prints backend text into its report, and the backend cannot tell which
 *   output format the client asked for. The drawn seed reaches the client's JSON as the job
 *   option dgen_seed (see fixup_once).
 */
void dgen_shim_log(int is_err, const char *msg)
{
	fputs(msg, stderr);
	fflush(stderr);
	if (is_backend) {
		if (is_err)
			log_err("%s", msg);
		return;
	}
	if (output_format == FIO_OUTPUT_NORMAL && f_out && f_out != stdout && f_out != stderr) {
		fputs(msg, f_out);
		fflush(f_out);
	}
}

/* printf-style dgen_shim_log, for the shim's own messages. */
static void __attribute__((format(printf, 2, 3))) dlog(int is_err, const char *fmt, ...)
{
	char buf[1024];
	va_list args;

	va_start(args, fmt);
	vsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	dgen_shim_log(is_err, buf);
}

const char *dgen_shim_fio_version(void)
{
	return DGEN_FIO_VERSION;
}

/* The options of job td, and where it sits among this fio's jobs. */
static void td_to_opts(const struct thread_data *td, struct dgen_opts *o)
{
	const struct dgen_eo *eo = td->eo;

	o->dedupe_ratio = eo->dedupe_ratio;
	o->compress_ratio = eo->compress_ratio;
	o->dedupe_unit = eo->dedupe_unit;
	o->seed = eo->seed;
	o->stream = eo->stream;
	o->io = eo->io;
	o->verify = eo->verify;
	o->prepopulate = eo->prepopulate;
	o->compress_codec = eo->compress_codec;
	o->map = eo->map;
	o->map_durability = eo->map_durability;
	o->map_trimmed = eo->map_trimmed;
	o->dedupe_working_set = eo->dedupe_working_set;
	o->dedupe_skew = eo->dedupe_skew;
	o->dedupe_scope = eo->dedupe_scope;
	o->dedupe_shifted = eo->dedupe_shifted;
	o->profile = eo->profile;
	o->job_index = td->thread_number ? td->thread_number - 1 : 0;
	o->jobs = thread_number;
	o->nr_files = td->o.nr_files;
}

/*
 * fio options that fight the engine: they make fio write or stamp its own data into the
 * buffers (which the engine overwrites in queue(), so they would only waste CPU and mislead),
 * or verify with fio's own scheme (which cannot know the generated content).
 */
static int job_info(struct thread_data *td, struct dgen_job_info *info)
{
	struct dgen_opts opts;

	if (!td->eo)
		return 1;
	td_to_opts(td, &opts);
	return dgen_rs_opts_info(&opts, info);
}

/* A job that verifies and never writes: it must not write a byte (no layout, no prepopulate). */
static int verify_only(struct thread_data *td, const struct dgen_job_info *info)
{
	return info->verify && !td_write(td);
}

/* dgen_map tracks whole dedup blocks of one file, written by one job. */
static int check_map(struct thread_data *td, const struct dgen_job_info *info)
{
	struct thread_options *o = &td->o;
	const struct dgen_eo *eo = td->eo;
	unsigned long long u = info->dedupe_unit;
	char why[512];

	why[0] = 0;
	if (o->nr_files > 1 && eo && eo->map_durability && !strcmp(eo->map_durability, "power"))
		snprintf(why, sizeof(why), "the job has %u files (nrfiles or filename with ':'), each with its own map (dgen_map.N), and dgen_map_durability=power makes the job's ring wait on one journal; use one file per job, or dgen_map_durability=process", o->nr_files);
	/* fio's clones of a numjobs job carry numjobs=1 and a subjob number */
	else if ((o->numjobs > 1 || td->subjob_number) && !o->use_thread)
		snprintf(why, sizeof(why), "numjobs > 1 shares one map between the job's clones, which fio's default fork mode puts in separate processes; add thread=1 (the clones then run as threads of one process and share the map), or give each job its own file and map");
	else if ((o->numjobs > 1 || td->subjob_number) && eo && eo->map_durability &&
		 !strcmp(eo->map_durability, "power"))
		snprintf(why, sizeof(why), "numjobs > 1 shares one map between the job's clones, and dgen_map_durability=power needs a map per job (each job's ring waits on the journal, which another job's checkpoint replaces); use dgen_map_durability=process");
	else if (td_trim(td) && u &&
		 (o->min_bs[DDIR_TRIM] % u || o->max_bs[DDIR_TRIM] % u))
		snprintf(why, sizeof(why), "trim block size %llu-%llu is not a multiple of dgen_dedupe_unit=%llu: the map tracks whole dedup blocks (use dgen_dedupe_unit=%llu, or bs a multiple of it)", o->min_bs[DDIR_TRIM], o->max_bs[DDIR_TRIM], u, o->min_bs[DDIR_TRIM]);
	else if (td_trim(td) && u && o->ba[DDIR_TRIM] % u)
		snprintf(why, sizeof(why), "trim offsets are aligned to %llu bytes (blockalign), not to dgen_dedupe_unit=%llu: the map tracks whole dedup blocks", o->ba[DDIR_TRIM], u);
	else if (td_write(td) && u &&
		 (o->min_bs[DDIR_WRITE] % u || o->max_bs[DDIR_WRITE] % u))
		snprintf(why, sizeof(why), "write block size %llu-%llu is not a multiple of dgen_dedupe_unit=%llu: the map tracks whole dedup blocks (use dgen_dedupe_unit=%llu, or bs a multiple of it)", o->min_bs[DDIR_WRITE], o->max_bs[DDIR_WRITE], u, o->min_bs[DDIR_WRITE]);
	else if (td_write(td) && u && o->ba[DDIR_WRITE] % u)
		snprintf(why, sizeof(why), "write offsets are aligned to %llu bytes (blockalign), not to dgen_dedupe_unit=%llu: the map tracks whole dedup blocks (use dgen_dedupe_unit=%llu, or blockalign a multiple of it)", o->ba[DDIR_WRITE], u, o->ba[DDIR_WRITE]);
	else if (u && o->start_offset % u)
		snprintf(why, sizeof(why), "offset=%llu is not a multiple of dgen_dedupe_unit=%llu: the map tracks whole dedup blocks", o->start_offset, u);
	if (!why[0])
		return 0;
	dlog(1, "dgen: job %s: bad option dgen_map=%s: %s\n", o->name, eo && eo->map ? eo->map : "", why);
	td_vmsg(td, EINVAL, "dgen_map cannot be used with this job", "dgen init");
	return 1;
}

static int check_conflicts(struct thread_data *td)
{
	struct thread_options *o = &td->o;
	struct dgen_job_info info;
	const char *bad = NULL;

	if (job_info(td, &info)) {
		td_vmsg(td, EINVAL, "invalid dgen option (see message above)", "dgen init");
		return 1;
	}
	if (o->io_submit_mode == IO_MODE_OFFLOAD) {
		if (info.io_mode == DGEN_IO_URING) {
			dlog(1, "dgen: job %s: fio option io_submit_mode=offload cannot be used with dgen_io=uring: the engine's io_uring ring belongs to the job's thread, while offload submits from fio's worker threads (use dgen_io=psync)\n",
			     o->name);
			td_vmsg(td, EINVAL, "conflicting fio option", "dgen init");
			return 1;
		}
		if (o->iodepth > 1) {
			dlog(1, "dgen: job %s: fio option io_submit_mode=offload cannot be used with iodepth=%u: fio 3.33 hangs in offload mode at iodepth > 1 (its own psync engine too); use iodepth=1\n",
			     o->name, o->iodepth);
			td_vmsg(td, EINVAL, "conflicting fio option", "dgen init");
			return 1;
		}
	}

	if (info.map && check_map(td, &info))
		return 1;

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
		dlog(1, "dgen: job %s: fio option %s cannot be used with the dgen engine\n",
		     o->name, bad);
		td_vmsg(td, EINVAL, "conflicting fio option", "dgen init");
		return 1;
	}
	return 0;
}

/* ---- once per job, before fio touches its files ---- */

/* Whether fio's fallocate= mode reserves extents (truncate only sets the length). */
static const char *fallocate_name(int mode)
{
	switch (mode) {
	case FIO_FALLOCATE_NONE:
		return "none";
	case FIO_FALLOCATE_POSIX:
		return "posix";
	case FIO_FALLOCATE_KEEP_SIZE:
		return "keep";
	case FIO_FALLOCATE_NATIVE:
		return "native";
	case FIO_FALLOCATE_TRUNCATE:
		return "truncate";
	default:
		return "?";
	}
}

/* Puts name=value into the job's option list (replacing an entry of that name): fio prints the
 * list as the job's "job options" in JSON output, also on a client of a fio server. */
static void set_job_option(struct thread_data *td, const char *name, const char *value)
{
	struct flist_head *entry;
	struct print_option *p;
	char *v = strdup(value);

	if (!v)
		return;
	flist_for_each(entry, &td->opt_list) {
		p = flist_entry(entry, struct print_option, list);
		if (p->name && !strcmp(p->name, name)) {
			free(p->value);
			p->value = v;
			return;
		}
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->name = strdup(name))) {
		free(p);
		free(v);
		return;
	}
	p->value = v;
	flist_add_tail(&p->list, &td->opt_list);
}

/*
 * Runs once per job from the first file hook fio calls (get_file_size, before it lays out or
 * preallocates any file; in the parent process unless create_serialize=0), else from init:
 * - reports a drawn seed at the start of the run (stderr), and records it as the job option
 *   dgen_seed so that JSON output carries it ("job options");
 * - makes fallocate=none the default: btrfs (compress, compress-force), ZFS and other
 *   compressing file systems write into preallocated extents in place and never compress
 *   them, so fio's default preallocation (native) would make every ratio read 1.0. An explicit
 *   fallocate= that reserves extents gets a warning.
 */
static void fixup_once(struct thread_data *td)
{
	struct dgen_eo *eo = td->eo;
	struct thread_options *o = &td->o;

	if (!eo || eo->fixed_up)
		return;
	eo->fixed_up = 1;

	if (eo->seed_drawn && eo->seed) {
		dlog(0, "dgen: job %s: no dgen_seed given, drew dgen_seed=%s (use it to reproduce or verify this run)\n",
		     o->name, eo->seed);
		/*
		 * Only in the process that runs the jobs and prints (or, in a fio server, sends)
		 * their options: the one that calls setup_files before starting them (td->pid is
		 * still 0 there). A job process (create_serialize=0) must not link its own heap
		 * into a list whose head lives in fio's shared memory.
		 */
		if (td->pid == 0)
			set_job_option(td, "dgen_seed", eo->seed);
	}

	if (!fio_option_is_set(o, fallocate_mode))
		o->fallocate_mode = FIO_FALLOCATE_NONE;
	else if (o->fallocate_mode != FIO_FALLOCATE_NONE &&
		 o->fallocate_mode != FIO_FALLOCATE_TRUNCATE)
		dlog(0, "dgen: job %s: warning: fallocate=%s preallocates the files' extents; btrfs (compress, compress-force), ZFS and other compressing file systems write preallocated extents in place and never compress them, so compression ratios will read 1.0 (the engine's default is fallocate=none)\n",
		     o->name, fallocate_name(o->fallocate_mode));
}

/* ---- init / cleanup ---- */

static int dgen_init(struct thread_data *td)
{
	struct dgen_opts opts;
	struct dgen_td *dt;

	if (check_conflicts(td))
		return 1;
	fixup_once(td);

	/*
	 * io_submit_mode=offload: fio's worker threads copy td->o and load the engine again by
	 * td->o.ioengine_so_path, which points into the "external:PATH" option string as first
	 * parsed; fio 3.33 has freed that string by then, so the workers fail with "engine ...
	 * not loadable" (any external engine). Point it at this library's own path (from dladdr;
	 * a few bytes per job, kept for the run).
	 */
	if (td->o.io_submit_mode == IO_MODE_OFFLOAD) {
		Dl_info dl;

		if (dladdr((void *)dgen_shim_ops, &dl) && dl.dli_fname) {
			char *path = strdup(dl.dli_fname);

			if (path)
				td->o.ioengine_so_path = path;
		}
	}

	dt = calloc(1, sizeof(*dt));
	if (!dt) {
		td_verror(td, ENOMEM, "dgen init");
		return 1;
	}
	td_to_opts(td, &opts);
	dt->job = dgen_rs_job_new(&opts, td->o.name, td->o.iodepth, &dt->info);
	if (!dt->job) {
		free(dt);
		td_vmsg(td, EINVAL, "invalid dgen option (see message above)", "dgen init");
		return 1;
	}
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

/* Synchronous sync/trim, as fio's io_uring engine does for trim. With dgen_map, a trim's blocks
 * are marked trimmed (intents journaled) before it is issued, and done after. */
static enum fio_q_status queue_sync_or_trim(struct thread_data *td, struct dgen_td *dt,
					    struct io_u *io_u)
{
	uint64_t key = (uint64_t)(uintptr_t)io_u;
	int mapped = dt->info.map && io_u->ddir == DDIR_TRIM;
	int ret;

	if (mapped) {
		ret = dgen_rs_trim(dt->job, key, io_u->file->fileno, io_u->offset, io_u->xfer_buflen);
		if (ret < 0)
			return FIO_Q_BUSY; /* a block of it is being written or read */
		if (ret) {
			io_u->error = ret;
			td_verror(td, ret, "dgen trim");
			return FIO_Q_COMPLETED;
		}
	}
	if (io_u->ddir == DDIR_TRIM)
		ret = do_io_u_trim(td, io_u);
	else
		ret = do_io_u_sync(td, io_u);
	if (ret < 0 && !io_u->error)
		io_u->error = errno;
	if (mapped)
		dgen_rs_write_done(dt->job, key, io_u->file->fileno, !io_u->error);
	if (io_u->error)
		td_verror(td, io_u->error, "dgen sync/trim");
	return FIO_Q_COMPLETED;
}

static void apply_rw(struct thread_data *td, struct dgen_td *dt, struct io_u *io_u,
		     int64_t res);

/* Applies the result of a read/write (bytes or -errno), verifying reads when asked; with
 * dgen_map, a finished read lets writes of its blocks go. */
static void complete_rw(struct thread_data *td, struct dgen_td *dt, struct io_u *io_u,
			int64_t res)
{
	apply_rw(td, dt, io_u, res);
	if (dt->info.map && io_u->ddir == DDIR_READ)
		dgen_rs_read_done(dt->job, (uint64_t)(uintptr_t)io_u, io_u->file->fileno);
}

static void apply_rw(struct thread_data *td, struct dgen_td *dt, struct io_u *io_u,
		     int64_t res)
{
	struct fio_file *f = io_u->file;

	if (dt->info.map && io_u->ddir == DDIR_WRITE)
		dgen_rs_write_done(dt->job, (uint64_t)(uintptr_t)io_u, f->fileno,
				   res >= 0 && (unsigned long long)res == io_u->xfer_buflen);
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
	/* A read returns what fio asked for: 0 bytes (end of file) or fewer is missing data,
	 * never a success (fio would count a short async read as done). */
	if (io_u->ddir == DDIR_READ && io_u->resid) {
		dlog(1, "dgen: job %s: short read: file %s offset %llu: expected %llu bytes, got %lld%s\n",
		     td->o.name, f->file_name, io_u->offset, io_u->xfer_buflen, (long long)res,
		     res == 0 ? " (end of file)" : "");
		io_u->error = EIO;
		return;
	}
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
		return queue_sync_or_trim(td, dt, io_u);
	}

	/* Fill here, not in prep(): fio stamps buffers after prep(). */
	if (is_write) {
		ret = dgen_rs_fill(dt->job, (uint64_t)(uintptr_t)io_u, f->fileno, f->file_name,
				   io_u->offset, io_u->xfer_buf, io_u->xfer_buflen);
		if (ret < 0)
			return FIO_Q_BUSY; /* a block of it is being written, or the ring is full */
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
		ret = dgen_rs_uring_queue(dt->job, (uint64_t)(uintptr_t)io_u, f->fileno, f->fd, is_write,
					  io_u->xfer_buf, io_u->xfer_buflen, io_u->offset);
		if (ret == 0)
			return FIO_Q_QUEUED;
		if (ret == 1)
			return FIO_Q_BUSY;
		io_u->error = -ret;
		if (dt->info.map && is_write)
			dgen_rs_write_done(dt->job, (uint64_t)(uintptr_t)io_u, f->fileno, 0);
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

static int dgen_mode_from_options(struct thread_data *td)
{
	const struct dgen_eo *eo = td->eo;

	return eo ? dgen_rs_io_mode(eo->io) : DGEN_IO_URING;
}

/* The file's size now, for messages: "N bytes" or "does not exist". */
static void describe_size(const char *file, char *buf, size_t len)
{
	struct stat st;

	if (stat(file, &st) < 0)
		snprintf(buf, len, "%s", errno == ENOENT ? "it does not exist" : strerror(errno));
	else
		snprintf(buf, len, "it has %llu bytes", (unsigned long long)st.st_size);
}

/* Refuses to verify a file that lacks data the job will read (it would have to be written). */
static int refuse_short_verify(struct thread_data *td, struct fio_file *f)
{
	char actual[128];

	describe_size(f->file_name, actual, sizeof(actual));
	dlog(1, "dgen: job %s: dgen_verify=1: file %s is shorter than the job needs: expected %llu bytes, %s (a verify-only job never writes; write the file first)\n",
	     td->o.name, f->file_name, (unsigned long long)(f->io_size + f->file_offset), actual);
	td_vmsg(td, EINVAL, "dgen_verify: file shorter than the job's size", "dgen verify");
	errno = EINVAL;
	return EINVAL;
}

static int dgen_open_file(struct thread_data *td, struct fio_file *f)
{
	struct dgen_td *dt = td->io_ops_data;
	struct stat st;

	/* No-I/O mode: keep fio's file handling happy with a descriptor that costs nothing. */
	if (dt && dt->info.io_mode == DGEN_IO_NULL) {
		f->fd = open("/dev/null", O_RDWR);
		if (f->fd < 0) {
			td_verror(td, errno, "open /dev/null");
			return 1;
		}
		return 0;
	}
	/* A verify-only job checks, when it starts, that the file holds what it will read. */
	if (dt && verify_only(td, &dt->info) && f->filetype == FIO_TYPE_FILE &&
	    (stat(f->file_name, &st) < 0 ||
	     (unsigned long long)st.st_size < f->file_offset + f->io_size)) {
		refuse_short_verify(td, f);
		return 1;
	}
	/* dgen_map: open (or create) the file's map before the file is opened (or created). */
	if (dt && dt->info.map) {
		int ret = dgen_rs_map_open(dt->job, f->fileno, f->file_name,
					   f->file_offset + f->io_size,
					   td_write(td) ? 1 : td_trim(td) ? 2 : 0);

		if (ret) {
			td_vmsg(td, ret, "dgen_map cannot be opened (see message above)", "dgen open");
			return 1;
		}
	}
	return generic_open_file(td, f);
}

/*
 * Runs before fio decides whether to lay files out: reject conflicting options this early,
 * apply the once-per-job fixups (fallocate default, seed), and remember each file's size so
 * prepopulate can tell a fresh layout from existing data.
 */
static int dgen_get_file_size(struct thread_data *td, struct fio_file *f)
{
	struct dgen_job_info info;
	int ret;

	if (check_conflicts(td))
		return 1;
	fixup_once(td);
	if (td_trim(td) && f->filetype == FIO_TYPE_FILE) {
		dlog(1, "dgen: job %s: trims (rw=trim, randtrim, trimwrite) cannot be used on regular file %s: fio trims with BLKDISCARD, which only block devices support (fio's own engines fail every such trim with ENOTTY); on a block device the engine passes trims through\n",
		     td->o.name, f->file_name);
		td_vmsg(td, EINVAL, "trim on a regular file", "dgen init");
		return 1;
	}
	if (dgen_mode_from_options(td) == DGEN_IO_NULL) {
		/* like a character device: fio takes the size from size= */
		f->real_file_size = -1ULL;
		fio_file_set_size_known(f);
		f->engine_pos = -1ULL;
		return 0;
	}
	ret = generic_get_file_size(td, f);
	f->engine_pos = ret ? 0 : f->real_file_size;
	if (f->filetype == FIO_TYPE_FILE && td->o.size && td->o.nr_files &&
	    f->engine_pos < td->o.size / td->o.nr_files && !job_info(td, &info) &&
	    verify_only(td, &info)) {
		/*
		 * A verify-only job on a missing or short file: fio would lay it out (write it).
		 * Report the size as unknown instead (fio then takes size= / nrfiles, as for a
		 * device), so nothing is written; an earlier job of the run (write, stonewall,
		 * verify) may still write the file, and dgen_open_file checks its length when this
		 * job starts.
		 */
		f->real_file_size = -1ULL;
		fio_file_set_size_known(f);
	}
	return ret;
}

/*
 * fio calls this before laying out a file that is missing or shorter than the job needs (and
 * at the end for unlink=1). A verify-only job must not get a layout: it would write fio's bytes
 * (and then the engine's) over the data it is meant to check, and pass. (dgen_get_file_size
 * avoids the layout in the usual cases; this catches the rest, e.g. offset= beyond the end.)
 */
static int dgen_unlink_file(struct thread_data *td, struct fio_file *f)
{
	struct dgen_job_info info;

	if (td->runstate == TD_SETTING_UP && !job_info(td, &info) && verify_only(td, &info))
		return refuse_short_verify(td, f);
	if (unlink(f->file_name) < 0)
		return errno;
	return 0;
}

/*
 * fio has just laid out fresh files of read (or overwrite) jobs with its own bytes: replace
 * them with generated content, so a read job sees what the engine would have written.
 * Existing files (size already sufficient) are left alone, and a verify-only job never writes.
 */
static int dgen_prepopulate_file(struct thread_data *td, struct fio_file *f)
{
	struct dgen_job_info info;
	struct dgen_opts opts;
	int new_layout, fd, ret, needs_data;
	unsigned long long chunk;

	if (job_info(td, &info))
		return 1;
	new_layout = td_read(td) || (td_write(td) && td->o.overwrite && !td->o.file_append);
	needs_data = f->filetype == FIO_TYPE_FILE && info.io_mode != DGEN_IO_NULL && new_layout &&
		     f->real_file_size != -1ULL && f->real_file_size > f->engine_pos;
	if (verify_only(td, &info))
		needs_data = 0; /* never written; dgen_open_file checks the length at start */
	if (needs_data && td->o.create_on_open && td_read(td)) {
		/* fio did not lay the file out: it would create it empty when the job opens it */
		char actual[128];

		describe_size(f->file_name, actual, sizeof(actual));
		dlog(1, "dgen: job %s: fio option create_on_open=1 cannot be used with a read or mixed job on file %s, which is shorter than the job needs (expected %llu bytes, %s): fio would create it empty when the job opens it, so reads would find no data (drop create_on_open, or write the file first)\n",
		     td->o.name, f->file_name, (unsigned long long)f->real_file_size, actual);
		td_vmsg(td, EINVAL, "create_on_open with reads of a missing file", "dgen init");
		return 1;
	}
	if (!needs_data || !info.prepopulate) {
		/* Nothing to write. fio invalidates the cache through f->fd next and closes it:
		 * hand it a descriptor (/dev/null where the file cannot be opened). */
		fd = open(f->file_name, O_RDONLY);
		if (fd < 0)
			fd = open("/dev/null", O_RDONLY);
		f->fd = fd;
		return 0;
	}
	td_to_opts(td, &opts);

	fd = open(f->file_name, O_WRONLY);
	if (fd < 0) {
		ret = errno;
		dlog(1, "dgen: job %s: prepopulate: cannot open %s: %s\n", td->o.name,
		     f->file_name, strerror(ret));
		td_verror(td, ret, "dgen prepopulate open");
		return 1;
	}
	chunk = td->o.max_bs[DDIR_WRITE];
	if (chunk < (1ULL << 20))
		chunk = 1ULL << 20;
	ret = dgen_rs_prepopulate(&opts, td->o.name, f->fileno, f->file_name, fd, f->real_file_size,
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
DGEN_CHECK_CB(compress_codec, "dgen_compress_codec")
DGEN_CHECK_CB(map, "dgen_map")
DGEN_CHECK_CB(map_durability, "dgen_map_durability")
DGEN_CHECK_CB(map_trimmed, "dgen_map_trimmed")
DGEN_CHECK_CB(dedupe_working_set, "dgen_dedupe_working_set")
DGEN_CHECK_CB(dedupe_skew, "dgen_dedupe_skew")
DGEN_CHECK_CB(dedupe_scope, "dgen_dedupe_scope")
DGEN_CHECK_CB(dedupe_shifted, "dgen_dedupe_shifted")
DGEN_CHECK_CB(profile, "dgen_profile")

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

/*
 * cmdprio_* are options of fio's io_uring and libaio engines (per-I/O priorities). Without an
 * entry here fio rejects them for this engine as unknown ("Did you mean trim_percentage?");
 * with one, the refusal names dgen and the reason.
 */
static int refuse_cmdprio(const char *name, const char *value)
{
	dlog(1, "dgen: bad option %s=%s: the dgen engine does not set per-I/O priorities (cmdprio_* belong to fio's io_uring and libaio engines); fio's prio and prioclass options set the priority of the whole job\n",
	     name, value ? value : "");
	return 1;
}

#define DGEN_CMDPRIO_OPTION(oname)					\
	{								\
		.name = #oname,						\
		.lname = "dgen: " #oname " (refused)",			\
		.type = FIO_OPT_STR_STORE,				\
		.off1 = offsetof(struct dgen_eo, cmdprio),		\
		.cb = cb_##oname,					\
		.help = "Not supported by the dgen engine (refused with a message); use prio/prioclass", \
		.category = FIO_OPT_C_ENGINE,				\
		.group = FIO_OPT_G_INVALID,				\
	}
#define DGEN_CMDPRIO_CB(oname)						\
	static int cb_##oname(void *data, const char *value)		\
	{								\
		(void)data;						\
		return refuse_cmdprio(#oname, value);			\
	}
DGEN_CMDPRIO_CB(cmdprio_percentage)
DGEN_CMDPRIO_CB(cmdprio_class)
DGEN_CMDPRIO_CB(cmdprio)
DGEN_CMDPRIO_CB(cmdprio_bssplit)

static struct fio_option dgen_options[] = {
	DGEN_STR_OPTION("dgen_dedupe_ratio", "dgen dedup ratio", dedupe_ratio, "1",
			"Deduplication ratio d >= 1 (any real number, e.g. 2 or 1.37): a 1/d share of dedup blocks is unique"),
	DGEN_STR_OPTION("dgen_compress_ratio", "dgen compression ratio", compress_ratio, "1",
			"Compression ratio c >= 1 (any real number, e.g. 3 or 1.5): every 4 KiB unit compresses to about 1/c; or a mix of ratios by share of dedup blocks, e.g. 1:30%,4:50%,16:20% (each dedup block compresses to its class's ratio), or per-codec ratios, e.g. lz4=2.2,zstd=3.3 (literals of fewer values, which zstd, deflate and brotli store in fewer bits)"),
	DGEN_STR_OPTION("dgen_dedupe_unit", "dgen dedup unit", dedupe_unit, "128k",
			"Dedup block size: a power of two from 4k to 16m, fio-style size (64k, 1m)"),
	DGEN_STR_OPTION("dgen_seed", "dgen seed", seed, "random",
			"Seed (unsigned 64-bit integer); 'random' (default) draws one and prints it"),
	DGEN_STR_OPTION("dgen_stream", "dgen stream id policy", stream, "path",
			"Stream id of each file: 'path' (default: xxh3 of the file's canonical absolute path, plus the host name for block and character devices, as dgen gen), 'name' (xxh3 of the file name only, the old rule) or a fixed integer for every file"),
	DGEN_STR_OPTION("dgen_io", "dgen I/O mode", io, "uring",
			"How the engine does I/O: 'uring' (own io_uring ring per job), 'psync' (pread/pwrite) or 'null' (generate only, no I/O)"),
	DGEN_STR_OPTION("dgen_verify", "dgen verify reads", verify, "0",
			"1: compare every byte read with the generated content; a mismatch fails the io_u with EILSEQ, a short read with EIO. A verifying job that does not write never writes: a missing or short file fails it"),
	DGEN_STR_OPTION("dgen_prepopulate", "dgen prepopulate fresh files", prepopulate, "1",
			"1 (default): when fio lays out a missing or short file for a read or mixed job, rewrite it with generated content (never for a verifying job that does not write: that fails instead); 0: keep fio's layout"),
	DGEN_STR_OPTION("dgen_compress_codec", "dgen compression codec family", compress_codec, "lz",
			"Codecs dgen_compress_ratio is exact for: 'lz' (default: lz4, zstd, LZO1X-1, deflate, brotli) or 'snappy' (Ceph, RocksDB, MongoDB; at most 16; lz4 and zstd then see more). Verify with the same value"),
	DGEN_STR_OPTION("dgen_map", "dgen generation map", map, "",
			"Path of a generation map of the job's file (created when missing by a writing job): every write gives the dedup blocks it covers new content while the live dedup ratio stays exact, and dgen_verify=1 checks what the map says. Writes must be whole dedup blocks (bs and blockalign multiples of dgen_dedupe_unit); a job of several files (nrfiles, or filename with ':') keeps one map per file, named dgen_map.N (N: the file's number, from 0); numjobs > 1 needs thread=1 (the clones then share the map). Trims (block devices) mark their blocks trimmed: see dgen_map_trimmed. A job that only reads never writes the map. Empty (default): no map"),
	DGEN_STR_OPTION("dgen_map_durability", "dgen map durability", map_durability, "process",
			"When a dgen_map write's intent is durable: 'process' (default: appended to the journal before the data write is submitted, synced at checkpoints and at the end; survives fio being killed, at no cost to the I/O; after a power cut or OS crash a verify fails on the last writes) or 'power' (synced before the data write is submitted; survives a power cut; costs a device flush per group commit)"),
	DGEN_STR_OPTION("dgen_map_trimmed", "dgen map: what trimmed blocks read as", map_trimmed, "zeros",
			"With dgen_map and dgen_verify=1, what blocks trimmed through the map (rw=trim, randtrim, trimwrite on a block device) must read as: 'zeros' (default: the device returns zeros after a discard, as NVMe with deterministic read zeros, SCSI LBPRZ, loop devices and thin volumes do) or 'skip' (not checked; the job's last line says how many trimmed blocks there are)"),
	DGEN_STR_OPTION("dgen_dedupe_working_set", "dgen dedup working set", dedupe_working_set, "",
			"Copies take their originals only from the oldest share of the unique blocks written before them (10% or 0.1), as fio's dedupe_working_set_percentage; the ratio is unchanged. Empty (default): a sliding window of the last 256 MiB of unique data"),
	DGEN_STR_OPTION("dgen_dedupe_skew", "dgen dedup skew", dedupe_skew, "0",
			"Popularity skew of the originals that copies take: a Zipf exponent from 0 (uniform, default) to 10, 1 the classic Zipf, the oldest most popular (vdbench's hot sets); the ratio is unchanged"),
	DGEN_STR_OPTION("dgen_dedupe_scope", "dgen dedup scope", dedupe_scope, "stream",
			"'stream' (default): each file deduplicated on its own, never sharing content with another; 'global': every file of every job on every host shares one dedup space (copies take originals from files of lower or equal number). A file's number is (DGEN_HOST_INDEX * jobs + job number - 1) * nrfiles + file number, with DGEN_HOST_INDEX from the environment of the fio that runs the job (default 0): give each fio server its own, run the same job file everywhere, make every file the same size, and verify with the same layout"),
	DGEN_STR_OPTION("dgen_dedupe_shifted", "dgen shifted duplicates", dedupe_shifted, "0",
			"1: copies hold their originals' bytes moved 512 to 3584 bytes off the 4 KiB grid, for arrays that dedup variable chunks at 512-byte granularity (fixed 4 KiB blocks then find almost no duplicates; 512-byte blocks and content-defined chunks find them). Verify with the same value"),
	DGEN_STR_OPTION("dgen_profile", "dgen data profile", profile, "",
			"A data profile: a built-in name (text, executables, database, compressed) or a file made by 'dgen analyze SAMPLE --profile FILE'; blocks then compress like the sample's chunks, per codec, with its zero blocks and dedup ratio. Not with dgen_compress_ratio or dgen_map. dgen_dedupe_ratio and dgen_dedupe_unit at their defaults (1, 128k) take the profile's; other values replace them. Verify with the same options (dgen verify --profile). Empty (default): none"),
	DGEN_CMDPRIO_OPTION(cmdprio_percentage),
	DGEN_CMDPRIO_OPTION(cmdprio_class),
	DGEN_CMDPRIO_OPTION(cmdprio),
	DGEN_CMDPRIO_OPTION(cmdprio_bssplit),
	{
		.name = NULL,
	},
};

/* ---- the ops structure (writable: fio stores the dlopen handle in it) ---- */

/* After fio has allocated the io_u buffers: with dgen_io=uring, register them with the ring, so
 * reads and writes use fixed buffers (the kernel pins the pages once, not at every I/O). Best
 * effort: where registration fails (RLIMIT_MEMLOCK, a file-backed mem= type) the I/O goes on
 * unregistered and fio's debug log says why. */
static int dgen_post_init(struct thread_data *td)
{
	struct dgen_td *dt = td->io_ops_data;
	int ret;

	if (!dt || dt->info.io_mode != DGEN_IO_URING || !td->orig_buffer || !td->orig_buffer_size)
		return 0;
	ret = dgen_rs_uring_register_buffer(dt->job, td->orig_buffer, td->orig_buffer_size);
	if (ret)
		dprint(FD_IO, "dgen: io_uring buffer registration failed (%s); unregistered I/O\n",
		       strerror(ret));
	return 0;
}

static struct ioengine_ops dgen_ops = {
	.name = "dgen",
	.version = FIO_IOOPS_VERSION,
	/* No FIO_NO_OFFLOAD: io_submit_mode=offload works with dgen_io=psync/null; check_conflicts
	 * refuses it with dgen_io=uring, naming the engine (fio's flag is per engine, not per job). */
	.flags = 0,
	.init = dgen_init,
	.post_init = dgen_post_init,
	.queue = dgen_queue,
	.commit = dgen_commit,
	.getevents = dgen_getevents,
	.event = dgen_event,
	.cleanup = dgen_cleanup,
	.open_file = dgen_open_file,
	.close_file = generic_close_file,
	.unlink_file = dgen_unlink_file,
	.get_file_size = dgen_get_file_size,
	.prepopulate_file = dgen_prepopulate_file,
	.options = dgen_options,
	.option_struct_size = sizeof(struct dgen_eo),
};

/*
 * The version guard. The shim is compiled against one fio's headers, and fio's structures
 * (thread_data, thread_options, fio_file, io_u, ioengine_ops) change between releases: loaded
 * by another fio, every field access would read or write the wrong bytes. So before fio gets
 * the ops structure (and before anything here touches a fio structure), the running fio's
 * fio_version_string is compared with DGEN_FIO_VERSION. It is looked up with dlsym rather
 * than referenced, so that a fio which does not export it is refused with the same message
 * instead of failing in the dynamic loader.
 *
 * Returns 1 when the running fio is the one the engine was built for; else prints one line to
 * stderr (once per process) and returns 0.
 */
static int running_fio_matches(void)
{
	static int warned;
	const char *running = dlsym(RTLD_DEFAULT, "fio_version_string");
	const char *so = "libdgen_fio.so";
	char line[1024];
	Dl_info dl;

	if (running && !strcmp(running, DGEN_FIO_VERSION))
		return 1;
	if (warned)
		return 0;
	warned = 1;
	if (dladdr((void *)dgen_shim_ops, &dl) && dl.dli_fname)
		so = dl.dli_fname;
	snprintf(line, sizeof(line), "dgen: %s was built for %s but the running fio is %s: fio's structures differ between versions, so the engine refuses to load; rebuild it against the running fio's source tree: FIO_SRC=/path/to/%s scripts/setup\n",
		 so, DGEN_FIO_VERSION,
		 running ? running : "unknown (it exports no fio_version_string)",
		 running ? running : "fio-source");
	/*
	 * Not dgen_shim_log: it reads f_out and output_format, whose meaning may differ in that
	 * other fio. Only the plain flag is_backend and log_err(fmt, ...) are used, so that a
	 * client of `fio --server` sees the line too (the backend's stderr is the server's).
	 */
	fputs(line, stderr);
	fflush(stderr);
	if (is_backend)
		log_err("%s", line);
	return 0;
}

/* The ops structure for get_ioengine, or NULL when the running fio is not the one the engine
 * was built for (fio then refuses the job: "engine ... not loadable"). */
void *dgen_shim_ops(void)
{
	if (!running_fio_matches())
		return NULL;
	return &dgen_ops;
}
