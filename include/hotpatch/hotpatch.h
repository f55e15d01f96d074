/* SPDX-License-Identifier: MIT */
/*
 * libhotpatch — replace functions of running x86-64 Linux processes.
 *
 * Conventions (see docs/api.md):
 *  - Functions return >= 0 on success and a negative code on failure: either
 *    -errno, or -HP_E_* (values >= HP_ERRNO_BASE) for domain failures.
 *    hp_strerror() names any of them.
 *  - Every call takes a struct hp_ctx.  On failure the context keeps a
 *    one-line message naming the cause ("pid 4242: thread 4250 is executing
 *    parse_header (patched function); retried for 10 s"), readable with
 *    hp_ctx_errmsg().  A context is not thread-safe: use one per thread.
 *  - The library never prints and never exits; it logs through the callback
 *    set with hp_ctx_set_log().
 *  - The first time it attaches to a thread while holding others of the same
 *    process, the library starts one background thread (all signals blocked,
 *    64 KiB stack) that reaps threads an exec killed while the attach waits;
 *    it lives until the process exits.
 *  - Output parameters are named ret_* and are written only on success.
 *  - Options structs start with size_t sz = sizeof(the struct) (HP_OPTS());
 *    NULL options mean the defaults.  A struct from an older header is
 *    zero-extended; a newer one with fields this library does not know set
 *    is refused (-EINVAL).
 *  - Every *_free() accepts NULL.
 *  - The functions declared here are the library's whole ABI (libhotpatch.so
 *    exports nothing else); build against it with pkg-config libhotpatch.
 */
#ifndef HOTPATCH_HOTPATCH_H
#define HOTPATCH_HOTPATCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Declare an options struct with sz set and the named fields given, the
 * rest zero (the defaults):  HP_OPTS(hp_apply_opts, o, .timeout_ms = 5000);
 */
#define HP_OPTS(type, name, ...) struct type name = { .sz = sizeof(struct type), __VA_ARGS__ }

#define HP_ERRNO_BASE 4000

enum hp_error {
	HP_E_FORMAT = HP_ERRNO_BASE,	/* patch file is malformed or truncated */
	HP_E_ARCH,			/* patch is for another architecture */
	HP_E_NOTARGET,			/* process does not map the patch's target build-id */
	HP_E_ORIGBYTES,			/* bytes of a replaced function differ from the manifest */
	HP_E_SYMBOL,			/* a symbol the patch needs cannot be resolved */
	HP_E_RELOC,			/* unsupported or overflowing relocation */
	HP_E_BUSY,			/* a thread stayed inside an affected function */
	HP_E_APPLIED,			/* this patch (or this level) is already applied */
	HP_E_NOTAPPLIED,		/* no such patch is applied */
	HP_E_TRACED,			/* the process is traced by someone else */
	HP_E_STOPPED,			/* the process is stopped (job control) */
	HP_E_EXITED,			/* the process exited during the operation */
	HP_E_NOSPACE,			/* no free address range within reach of the target */
	HP_E_TOOSMALL,			/* function too small to hold a jump */
	HP_E_STATE,			/* in-process state record is corrupt or inconsistent */
	HP_E_UNSIGNED,			/* patch carries no signature */
	HP_E_UNKNOWNKEY,		/* signer key is not in the trust store */
	HP_E_BADSIG,			/* signature does not verify */
	HP_E_DOWNGRADE,			/* level is not higher than the applied one */
	HP_E_FOREIGN,			/* code was modified by something other than hotpatch */
	HP_E_BUILD,			/* the builder refuses the change (reason in errmsg) */
	HP_E_MAX
};

/* Name of a negative return code (-errno or -HP_E_*); never NULL. */
const char *hp_strerror(int err);

/* ---- context and logging ------------------------------------------------ */

enum hp_log_level { HP_LOG_ERR = 0, HP_LOG_WARN, HP_LOG_INFO, HP_LOG_DEBUG };

typedef void (*hp_log_fn)(void *userdata, enum hp_log_level level, const char *msg);

struct hp_ctx;

int hp_ctx_new(struct hp_ctx **ret_ctx);
void hp_ctx_free(struct hp_ctx *ctx);
/* Messages at or below max_level go to fn; fn == NULL silences the library. */
void hp_ctx_set_log(struct hp_ctx *ctx, hp_log_fn fn, void *userdata, enum hp_log_level max_level);
/* The message of the last failure on this context ("" if none). */
const char *hp_ctx_errmsg(const struct hp_ctx *ctx);

/* ---- patch files --------------------------------------------------------- */

#define HP_BUILD_ID_MAX 64
#define HP_ID_MAX 64

struct hp_manifest_func {
	const char *name;		/* symbol name in the target */
	const char *symbol;		/* payload symbol holding the new body */
	uint64_t addr;			/* link-time address in the target */
	uint64_t size;			/* original size in bytes */
	uint8_t sha256[32];		/* hash of the original bytes */
};

struct hp_manifest {
	unsigned format;
	const char *id;
	const char *arch;		/* "x86_64" */
	const char *target_name;
	uint8_t build_id[HP_BUILD_ID_MAX];
	size_t build_id_len;
	unsigned level;
	const char *classification;	/* "critical", "security" or "other" */
	const char *description;
	const char **cves;
	size_t ncves;
	const char *created;		/* RFC 3339 UTC */
	const char *signer;		/* hex key id, or NULL when unsigned */
	struct hp_manifest_func *funcs;
	size_t nfuncs;
	const char **new_funcs;		/* functions the patch adds (informational) */
	size_t nnew_funcs;
};

struct hp_patch;

/* Parse and validate a patch file.  The input is treated as hostile. */
int hp_patch_open(struct hp_ctx *ctx, const char *path, struct hp_patch **ret_patch);
/* The same from memory; the buffer is copied. */
int hp_patch_load(struct hp_ctx *ctx, const void *buf, size_t len, struct hp_patch **ret_patch);
void hp_patch_free(struct hp_patch *patch);
const struct hp_manifest *hp_patch_manifest(const struct hp_patch *patch);
/* The raw file bytes (for verification and re-signing). */
const void *hp_patch_bytes(const struct hp_patch *patch, size_t *ret_len);

/* Payload contents, for `hotpatch info`. */
struct hp_patch_section {
	const char *name;
	uint64_t size;
	uint64_t flags;			/* SHF_* */
	unsigned nrelocs;
};
size_t hp_patch_nsections(const struct hp_patch *patch);
const struct hp_patch_section *hp_patch_section(const struct hp_patch *patch, size_t i);

/* ---- signatures and trust ------------------------------------------------ */

/* Whether the patch carries a signature; fills the key id (hex) if so. */
bool hp_patch_is_signed(const struct hp_patch *patch, char ret_key_id[65]);

/*
 * Generate an Ed25519 key pair: BASE.key (PKCS#8 PEM, mode 0600) and
 * BASE.pub (SubjectPublicKeyInfo PEM).  The key id is the SHA-256 of the raw
 * 32-byte public key, in hex.  Existing files are not overwritten (-EEXIST).
 */
int hp_keygen(struct hp_ctx *ctx, const char *base, char ret_key_id[65]);

/*
 * Sign a patch with the private key at key_path: returns the new file bytes
 * (manifest "signer" set, signature block filled); the caller frees them.
 */
int hp_patch_sign(struct hp_ctx *ctx, const struct hp_patch *patch, const char *key_path,
		  uint8_t **ret_buf, size_t *ret_len);

/*
 * Verify a patch against the public keys in trust_dir (NULL: the
 * HOTPATCH_TRUST_DIR environment variable, else /etc/hotpatch/trusted.d).
 * Returns 0 and the signer's key id, or -HP_E_UNSIGNED, -HP_E_UNKNOWNKEY,
 * -HP_E_BADSIG (any modified byte), or -errno.
 */
int hp_patch_verify(struct hp_ctx *ctx, const struct hp_patch *patch, const char *trust_dir,
		    char ret_key_id[65]);

/*
 * Detached signatures of other documents (a repository index) with the same
 * Ed25519 keys.  purpose names what is signed ("repository index"); a
 * signature made for one purpose does not verify for another.  The
 * signature is one text line the caller stores beside the document (caller
 * frees).  Verify returns 0 and the signer's key id, or -HP_E_UNSIGNED (empty
 * signature), -HP_E_FORMAT (not a signature line), -HP_E_UNKNOWNKEY,
 * -HP_E_BADSIG, -errno.
 */
int hp_blob_sign(struct hp_ctx *ctx, const char *key_path, const char *purpose, const void *buf, size_t len,
		 char **ret_sig);
int hp_blob_verify(struct hp_ctx *ctx, const char *trust_dir, const char *purpose, const void *buf, size_t len,
		   const char *sig_text, size_t sig_len, char ret_key_id[65]);

/* ---- applying, reverting, status ----------------------------------------- */

enum hp_apply_flags {
	HP_APPLY_ALLOW_DOWNGRADE = 1 << 0,	/* allow a level <= the applied one */
	HP_APPLY_ALLOW_UNSIGNED = 1 << 1,	/* accept a patch with no signature (signed ones are still verified) */
	/*
	 * Dry run: every check apply makes (trust, target build, original bytes,
	 * symbols, level, room for the patch, linking) and nothing else: the call
	 * returns 0 right before the first write to the process, which is never
	 * stopped.  Whether threads are inside the functions is not checked (that
	 * needs the stop); result.attempts is 0.
	 */
	HP_APPLY_DRY_RUN = 1 << 2,
};

/*
 * Work that depends only on a mapped file, not on the process mapping it —
 * its build-id (keyed by the device, inode, size and mtime fstat sees through
 * /proc/PID/map_files), its parsed ELF object and symbol tables — done once
 * and shared by every operation given the same cache.  Thread-safe: one
 * cache serves any number of threads, each with its own hp_ctx.  It grows
 * with the number of distinct files seen; create one per sweep (or drop it
 * when files on the host change) and free it after the last operation.
 */
struct hp_cache;

int hp_cache_new(struct hp_cache **ret_cache);
void hp_cache_free(struct hp_cache *cache);

struct hp_apply_opts {
	size_t sz;			/* sizeof(struct hp_apply_opts) */
	unsigned timeout_ms;		/* busy retry budget; 0 means 10 s */
	unsigned flags;			/* enum hp_apply_flags */
	const char *trust_dir;		/* NULL: $HOTPATCH_TRUST_DIR or /etc/hotpatch/trusted.d */
	struct hp_cache *cache;		/* shared per-file work; NULL: a cache for this call only */
};

/*
 * Filled by hp_apply() and hp_revert(), only on success.  The caller sets
 * sz = sizeof(struct hp_apply_result) (-EINVAL otherwise); the library
 * writes at most sz bytes and sets sz to the number it wrote, so a program
 * built against this header keeps working with a library whose result grew.
 */
struct hp_apply_result {
	size_t sz;
	unsigned attempts;		/* stop-the-world attempts (1 + busy retries) */
	unsigned nthreads;		/* threads stopped in the successful attempt */
	unsigned stepped;		/* busy frames waited for through landing pads (docs/state-record.md) */
	uint64_t pause_ns;		/* longest time all threads were stopped */
	uint64_t hijack_ns;		/* longest time one thread ran injected syscalls */
	uint64_t total_ns;		/* wall time of the whole operation */
	unsigned level;			/* level now applied (0 = original) */
	char patch_id[HP_ID_MAX + 1];
	char replaced_id[HP_ID_MAX + 1];	/* patch replaced by a higher level, or "" */
};

/* Apply a patch to one process. */
int hp_apply(struct hp_ctx *ctx, pid_t pid, const struct hp_patch *patch,
	     const struct hp_apply_opts *opts, struct hp_apply_result *ret_result);

/* Revert an applied patch (by id) in one process, restoring the original. */
int hp_revert(struct hp_ctx *ctx, pid_t pid, const char *patch_id,
	      const struct hp_apply_opts *opts, struct hp_apply_result *ret_result);

enum hp_func_state {
	HP_FUNC_PATCHED = 1,		/* entry jumps to the patch */
	HP_FUNC_ORIGINAL,		/* entry holds the original bytes */
	HP_FUNC_FOREIGN,		/* entry holds neither */
};

enum hp_patch_state {
	HP_STATE_PREPARED = 1,		/* mapped, not active: patcher died before commit */
	HP_STATE_COMMITTING,		/* patcher died during commit */
	HP_STATE_ACTIVE,
	HP_STATE_REVERTING,		/* patcher died during revert */
};

/* "prepared", "committing", "active", "reverting"; "unknown" for any other value. */
const char *hp_patch_state_name(enum hp_patch_state state);
/* "patched", "original", "foreign"; "unknown" for any other value. */
const char *hp_func_state_name(enum hp_func_state state);

/*
 * Who wrote a state record (docs/state-record.md, "Forged records").  The
 * process's memory is its own to write: only a record sealed with this
 * host's record key (readable by root alone) counts as applied.
 */
enum hp_record_trust {
	HP_RECORD_AUTHENTIC = 1,	/* sealed by hotpatch on this host; its sites check out */
	HP_RECORD_UNVERIFIED,		/* its sites check out, but it has no seal or the key is unreadable */
	HP_RECORD_FORGED,		/* a seal that does not verify, or a site that contradicts the module */
};
/* "authentic", "unverified", "forged"; "unknown" for any other value. */
const char *hp_record_trust_name(enum hp_record_trust trust);

/*
 * Text in result structs: identifiers bounded by the format (patch ids,
 * HP_ID_MAX; signer key ids, 64 hex digits; comm, the kernel's 16 bytes) are
 * char arrays; paths, symbol names and messages are const char * owned by
 * the result (freed by its *_free()), never NULL ("" when empty).
 */

struct hp_status_func {
	const char *name;		/* symbol name in the target */
	uint64_t addr;			/* runtime address of the function */
	uint64_t new_addr;		/* runtime address of the new body */
	enum hp_func_state state;
};

struct hp_status_patch {
	char id[HP_ID_MAX + 1];
	unsigned level;
	enum hp_patch_state state;
	bool consistent;		/* every function agrees with the state */
	uint8_t build_id[HP_BUILD_ID_MAX];
	size_t build_id_len;
	const char *target;		/* target path as mapped */
	char signer[65];		/* hex key id or "" */
	int64_t applied_time;		/* seconds since the epoch */
	uint64_t region;		/* address of the patch mapping */
	uint64_t region_size;
	size_t nfuncs;
	struct hp_status_func *funcs;
	pid_t applier_pid;		/* process it was applied to: another pid in a forked child */
	enum hp_record_trust trust;	/* only HP_RECORD_AUTHENTIC counts as patched */
	const char *trust_reason;	/* why unverified or forged; "" when authentic */
};

struct hp_status {
	pid_t pid;
	size_t npatches;
	struct hp_status_patch *patches;
};

/* Read what is applied in a process, from the process itself. */
int hp_status_read(struct hp_ctx *ctx, pid_t pid, struct hp_status **ret_status);
void hp_status_free(struct hp_status *status);

/* ---- every process on the host ------------------------------------------ */
/*
 * A sweep finds every process whose memory maps the patch's target build-id
 * (in any mount namespace: files are read through /proc/PID/map_files) and
 * patches them in parallel, one hp_ctx per worker thread, sharing one
 * hp_cache.  A process that stays busy goes to a retry queue and is tried
 * again until the sweep's timeout, while the others go on.  Processes
 * forked during the sweep are looked for afterwards.  No process is ever
 * left stopped or traced.  The log callback of ctx is called from the
 * worker threads (it must be thread-safe); ctx gets the message of a
 * failure of the sweep as a whole (a bad signature), not of one process.
 */

enum hp_host_outcome {
	HP_HOST_PATCHED = 1,		/* applied now, or inherited by fork from a process patched now */
	HP_HOST_ALREADY,		/* nothing to do: at this level or higher (apply), not applied (revert) */
	HP_HOST_REVERTED,		/* reverted now */
	HP_HOST_RESTART,		/* runs another build of the target: restart required */
	HP_HOST_FAILED,			/* see err and message */
	HP_HOST_EXITED,			/* exited, or executed another program, during the sweep */
	HP_HOST_UNKNOWN,		/* its memory map cannot be read: whether it runs the target (or has the
					   patch) is unknown; counted in nunknown: the sweep was incomplete */
};

struct hp_host_proc {
	pid_t pid;
	pid_t ppid;
	char comm[64];
	enum hp_host_outcome outcome;
	int err;			/* the failure (-errno or -HP_E_*), 0 if none */
	const char *message;		/* why: failure, restart required, nothing to do; else "" */
	unsigned busy_retries;		/* times it went to the retry queue because it was busy */
	bool other_mntns;		/* lives in another mount namespace (a container) */
	pid_t inherited_from;		/* patched by fork: the process the patch was applied to */
	const char *target;		/* target file as the process maps it, "" if unknown */
	uint8_t build_id[HP_BUILD_ID_MAX];	/* build of the target it runs */
	size_t build_id_len;
	struct hp_apply_result result;	/* of the last attempt */
};

struct hp_host_result {
	struct hp_host_proc *procs;	/* sorted by pid; processes not mapping any build of the target are left out */
	size_t nprocs;
	size_t npatched, nalready, nreverted, nrestart, nfailed, nexited, nunknown;
	size_t nbusy_retried;		/* processes that were busy at least once */
	size_t nscanned;		/* processes looked at */
	unsigned jobs;			/* workers used */
	uint64_t total_ns;		/* wall time of the sweep */
};

struct hp_host_opts {
	size_t sz;			/* sizeof(struct hp_host_opts) */
	unsigned jobs;			/* worker threads; 0: number of CPUs × HP_HOST_JOBS_PER_CPU */
	unsigned timeout_ms;		/* until when busy processes are retried; 0: 10 s */
	unsigned attempt_ms;		/* busy budget of one attempt on one process; 0: 50 ms */
	unsigned flags;			/* enum hp_apply_flags */
	const char *trust_dir;		/* as in struct hp_apply_opts */
	struct hp_cache *cache;		/* NULL: one for this sweep */
	const volatile int *cancel;	/* once it is non-zero no further process is started */
	/*
	 * Which processes the sweep looks at (hotpatch --exe, --comm, --unit):
	 * NULL = all; else only those for which select returns true.  Called from
	 * the caller's thread while /proc is listed, so it may read /proc/PID.
	 */
	bool (*select)(void *ud, pid_t pid);
	void *select_ud;
	/*
	 * Called once per reported process when its outcome is final (not for one
	 * that goes to the retry queue), from a worker thread, with a copy the
	 * callee may keep reading until it returns; NULL: none.  Processes still
	 * waiting in the retry queue when the sweep is cancelled are not passed;
	 * the result has them.  Lets a caller print each process as it finishes.
	 */
	void (*progress)(void *ud, const struct hp_host_proc *proc);
	void *progress_ud;
};

/* The default number of workers per CPU (measured: BENCHMARKS.md, "Host-wide patching"). */
#define HP_HOST_JOBS_PER_CPU 8

/*
 * Apply patch to every process that runs its target build.  Returns 0 when
 * the sweep ran (per-process outcomes in the result, failures included),
 * or a negative code when it could not start: -HP_E_UNSIGNED,
 * -HP_E_UNKNOWNKEY, -HP_E_BADSIG, -errno.
 */
int hp_host_apply(struct hp_ctx *ctx, const struct hp_patch *patch, const struct hp_host_opts *opts,
		  struct hp_host_result **ret_result);
/* Revert patch_id in every process where it is applied. */
int hp_host_revert(struct hp_ctx *ctx, const char *patch_id, const struct hp_host_opts *opts,
		   struct hp_host_result **ret_result);
void hp_host_result_free(struct hp_host_result *result);

struct hp_host_status_proc {
	pid_t pid;
	char comm[64];
	bool other_mntns;
	struct hp_status *status;
};

struct hp_host_status {
	struct hp_host_status_proc *procs;	/* processes with at least one patch record, by pid */
	size_t nprocs;
	size_t nscanned;
	pid_t *unknown;			/* processes whose memory could not be read (permission): by pid */
	size_t nunknown;		/* whether they have a patch is unknown; the listing is incomplete */
};

/* What is applied in every process of the host (read-only: nothing is stopped). */
int hp_host_status(struct hp_ctx *ctx, struct hp_host_status **ret_status);
void hp_host_status_free(struct hp_host_status *status);

/* Format a build-id as lowercase hex into buf (at least 2*len+1 bytes). */
char *hp_hex(const uint8_t *bytes, size_t len, char *buf);

/* ---- assessment: can this host and each process take a hotpatch now ---- */
/*
 * `hotpatch assess` (docs/assess.md).  Every check reads the system and
 * says ok, not ok or unknown, with the reason and, for anything but ok, a
 * remedy.  Nothing is guessed: what cannot be read is unknown.  Text fields
 * (const char *) are owned by the result, freed by its *_free(), never NULL.
 */

enum hp_check_result {
	HP_CHECK_OK = 0,
	HP_CHECK_NOT_OK,
	HP_CHECK_UNKNOWN,
};

/* Verdicts; hp_verdict_name() gives the stable names used in JSON. */
enum hp_verdict {
	HP_VERDICT_ELIGIBLE = 0,	/* can take the hotpatch (or a hotpatch) now */
	HP_VERDICT_PATCHED,		/* this patch, or a higher level of it, is applied */
	HP_VERDICT_UNKNOWN,		/* a check that matters could not be decided */
	HP_VERDICT_RESTART,		/* restart required: runs another baseline, or old code */
	HP_VERDICT_NOT_ELIGIBLE,	/* a check failed; see its reason and remedy */
};

struct hp_assess_check {
	const char *name;		/* stable id ("ptrace_scope"), a static string */
	enum hp_check_result result;
	bool advisory;			/* the result does not change the verdict */
	const char *value;		/* what was read ("1 (restricted)"), "" if nothing */
	const char *reason;		/* why this result, naming the source */
	const char *remedy;		/* what to do when not ok / unknown, else "" */
};

struct hp_assess_host {
	enum hp_verdict verdict;	/* ELIGIBLE, UNKNOWN or NOT_ELIGIBLE */
	struct hp_assess_check *checks;	/* requirements */
	size_t nchecks;
	struct hp_assess_check *facts;	/* inventory: OK (read) or UNKNOWN, never NOT_OK */
	size_t nfacts;
};

/* A mapped file that was replaced or deleted on disk since the process mapped it. */
struct hp_assess_stale {
	const char *path;
	bool deleted;			/* nothing at path any more */
	uint8_t build_id[HP_BUILD_ID_MAX];	/* the build the process runs */
	size_t build_id_len;
	uint8_t disk_build_id[HP_BUILD_ID_MAX];	/* the file at path now (0: none/unreadable) */
	size_t disk_build_id_len;
	char covered_by[HP_ID_MAX + 1];	/* a given patch for the running build, or "" */
};

/* One patch against one process. */
struct hp_assess_target {
	char patch_id[HP_ID_MAX + 1];
	unsigned level;
	enum hp_verdict verdict;
	const char *path;		/* the mapped target file, "" when not mapped */
	uint8_t build_id[HP_BUILD_ID_MAX];	/* running build of the target */
	size_t build_id_len;
	uint8_t disk_build_id[HP_BUILD_ID_MAX];	/* the file at path now */
	size_t disk_build_id_len;
	struct hp_assess_check *checks;	/* "baseline", "symbols", "applied" */
	size_t nchecks;
};

struct hp_assess_applied {
	char id[HP_ID_MAX + 1];
	unsigned level;
	enum hp_patch_state state;
};

struct hp_assess_proc {
	pid_t pid;
	char comm[64];
	const char *exe;		/* "" when unreadable */
	const char *unit;		/* owning systemd unit, "" if none */
	enum hp_verdict verdict;
	struct hp_assess_check *checks;
	size_t nchecks;
	struct hp_assess_target *targets;	/* one per given patch whose target it maps */
	size_t ntargets;
	struct hp_assess_stale *stale;	/* restart-required audit */
	size_t nstale;
	struct hp_assess_applied *applied;	/* hotpatches applied now */
	size_t napplied;
};

enum hp_assess_flags {
	HP_ASSESS_NO_STOP = 1 << 0,	/* never stop a thread: seccomp filters stay unread */
	HP_ASSESS_NO_PROBE = 1 << 1,	/* no probe child for the /proc/PID/mem write test */
	HP_ASSESS_ONLY_TARGETS = 1 << 2,	/* hp_assess_process: -HP_E_NOTARGET if no patch's target is mapped */
};

struct hp_assess_opts {
	size_t sz;			/* sizeof(struct hp_assess_opts) */
	unsigned flags;			/* enum hp_assess_flags */
	const char *root;		/* tests: read host files below root (implies NO_PROBE) */
};

struct hp_assess;

/* A session: options, the patches to assess against, caches. */
int hp_assess_new(struct hp_ctx *ctx, const struct hp_assess_opts *opts, struct hp_assess **ret_assess);
void hp_assess_free(struct hp_assess *a);
/* Assess against patch too; the patch is borrowed and must outlive a. */
int hp_assess_add_patch(struct hp_assess *a, const struct hp_patch *patch);
/* Host checks and inventory. */
int hp_assess_host(struct hp_assess *a, struct hp_assess_host **ret_host);
void hp_assess_host_free(struct hp_assess_host *h);
/*
 * Process checks.  -ESRCH: no such process; -ENOEXEC: a kernel thread;
 * -HP_E_NOTARGET: maps no patch's target (with HP_ASSESS_ONLY_TARGETS).
 */
int hp_assess_process(struct hp_assess *a, pid_t pid, struct hp_assess_proc **ret_proc);
void hp_assess_proc_free(struct hp_assess_proc *p);

/* "eligible", "patched", "unknown", "restart-required", "not-eligible". */
const char *hp_verdict_name(enum hp_verdict v);
/* "ok", "not-ok", "unknown". */
const char *hp_check_result_name(enum hp_check_result r);

#ifdef __cplusplus
}
#endif
#endif
