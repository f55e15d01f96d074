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
 *  - Output parameters are named ret_* and are written only on success.
 *  - Every *_free() accepts NULL.
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

/* ---- applying, reverting, status ----------------------------------------- */

enum hp_apply_flags {
	HP_APPLY_ALLOW_DOWNGRADE = 1 << 0,	/* allow a level <= the applied one */
	HP_APPLY_ALLOW_UNSIGNED = 1 << 1,	/* skip signature verification */
};

struct hp_apply_opts {
	size_t sz;			/* sizeof(struct hp_apply_opts) */
	unsigned timeout_ms;		/* busy retry budget; 0 means 10 s */
	unsigned flags;			/* enum hp_apply_flags */
	const char *trust_dir;		/* NULL: $HOTPATCH_TRUST_DIR or /etc/hotpatch/trusted.d */
};

struct hp_apply_result {
	unsigned attempts;		/* stop-the-world attempts (1 + busy retries) */
	unsigned nthreads;		/* threads stopped in the successful attempt */
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

struct hp_status_func {
	char name[128];
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
	char target[256];		/* target path as mapped */
	char signer[65];		/* hex key id or "" */
	int64_t applied_time;		/* seconds since the epoch */
	uint64_t region;		/* address of the patch mapping */
	uint64_t region_size;
	size_t nfuncs;
	struct hp_status_func *funcs;
};

struct hp_status {
	pid_t pid;
	size_t npatches;
	struct hp_status_patch *patches;
};

/* Read what is applied in a process, from the process itself. */
int hp_status_read(struct hp_ctx *ctx, pid_t pid, struct hp_status **ret_status);
void hp_status_free(struct hp_status *status);

/* Format a build-id as lowercase hex into buf (at least 2*len+1 bytes). */
char *hp_hex(const uint8_t *bytes, size_t len, char *buf);

#ifdef __cplusplus
}
#endif
#endif
