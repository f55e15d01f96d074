/* SPDX-License-Identifier: MIT */
/* Refusal fixture: the layout unchanged code allocates and passes around. */
struct conn {
	int id;
	int used;
};

struct conn *conn_get(int id);
int conn_score(const struct conn *c);
