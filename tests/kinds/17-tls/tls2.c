/* SPDX-License-Identifier: MIT */
/* Kind 17: a thread-local defined in another unit, so kind.c reaches it initial-exec. */
__thread int ie_count;
