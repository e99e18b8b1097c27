/*
 * list.h - the runtime's one intrusive list (base layer, header only): a
 * doubly linked circular list with a head, as libuv's queue.h or nng's
 * list. An element embeds a genrpc__list and is found again from it with
 * GENRPC__CONTAINER_OF. The head is a genrpc__list too: an empty list is a
 * head pointing at itself, so append, remove and pop never test for the
 * ends (no NULL head/tail pair to keep in step).
 *
 * Chosen over <sys/queue.h> TAILQ: one node type for every list (TAILQ
 * declares a head type per element type), removal needs no head, and an
 * unlinked node (genrpc__list_init, or after genrpc__list_remove) knows it
 * is unlinked (genrpc__list_linked), which the node's conn lists use.
 *
 * Nothing here locks: each list's owner says which lock guards it.
 */
#ifndef GENRPC_BASE_LIST_H
#define GENRPC_BASE_LIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct genrpc__list {
    struct genrpc__list *next, *prev;
} genrpc__list;

/* The struct of type `type` whose member `member` is at ptr. */
#define GENRPC__CONTAINER_OF(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* A head (or a node) that is empty (unlinked). Every head and node starts so. */
static inline void
genrpc__list_init(genrpc__list *l)
{
    l->next = l->prev = l;
}

static inline bool
genrpc__list_empty(const genrpc__list *head)
{
    return head->next == head;
}

/* Is this node in some list? (It was initialised, or last removed.) */
static inline bool
genrpc__list_linked(const genrpc__list *node)
{
    return node->next != node;
}

static inline void
genrpc__list_push_back(genrpc__list *head, genrpc__list *node)
{
    node->next = head;
    node->prev = head->prev;
    head->prev->next = node;
    head->prev = node;
}

static inline void
genrpc__list_push_front(genrpc__list *head, genrpc__list *node)
{
    node->prev = head;
    node->next = head->next;
    head->next->prev = node;
    head->next = node;
}

/* Unlinks node from whatever list holds it; it is then unlinked itself. */
static inline void
genrpc__list_remove(genrpc__list *node)
{
    node->prev->next = node->next;
    node->next->prev = node->prev;
    genrpc__list_init(node);
}

/* The first node, or NULL when empty. */
static inline genrpc__list *
genrpc__list_first(const genrpc__list *head)
{
    return head->next == head ? NULL : head->next;
}

/* The node after `node` in the list headed by head, or NULL at the end. */
static inline genrpc__list *
genrpc__list_next(const genrpc__list *head, const genrpc__list *node)
{
    return node->next == head ? NULL : node->next;
}

/* Removes and returns the first node, or NULL when empty. */
static inline genrpc__list *
genrpc__list_pop_front(genrpc__list *head)
{
    genrpc__list *n = genrpc__list_first(head);
    if (n)
        genrpc__list_remove(n);
    return n;
}

/* Moves every node of `from` to the end of `to`; `from` is empty after. */
static inline void
genrpc__list_splice_back(genrpc__list *to, genrpc__list *from)
{
    if (genrpc__list_empty(from))
        return;
    from->next->prev = to->prev;
    to->prev->next = from->next;
    from->prev->next = to;
    to->prev = from->prev;
    genrpc__list_init(from);
}

/* Moves every node of `from` into `to` (initialised here), leaving `from`
 * empty: to take a whole list out from under its lock. */
static inline void
genrpc__list_move(genrpc__list *to, genrpc__list *from)
{
    genrpc__list_init(to);
    genrpc__list_splice_back(to, from);
}

/* for (each node of head): `it` is a genrpc__list *; the body must not
 * remove `it` (use GENRPC__LIST_FOREACH_SAFE for that). */
#define GENRPC__LIST_FOREACH(it, head) \
    for (genrpc__list *it = (head)->next; it != (head); it = it->next)
/* The same, where the body may remove (or free) `it`. */
#define GENRPC__LIST_FOREACH_SAFE(it, head)                                              \
    for (genrpc__list *it = (head)->next, *it##_next_ = it->next; it != (head);          \
         it = it##_next_, it##_next_ = it->next)

#endif /* GENRPC_BASE_LIST_H */
