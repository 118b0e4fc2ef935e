/* autograd.h — reverse-mode automatic differentiation, in the C runtime.
 *
 * A tensor of a floating dtype may require grad. While grad mode is on (per thread, on by
 * default) every differentiable op whose inputs include a tensor that requires grad records a
 * node (the op, the tensors it needs saved, its parameters, edges to the nodes or leaves that
 * produced its inputs) and gives back a result that requires grad and whose grad_fn is that
 * node. vt_autograd_backward walks the graph from a root in reverse topological order
 * (iteratively: no recursion, any depth), sums the gradients flowing into each node, and
 * accumulates (+=) them into the .grad of the leaves that require grad.
 *
 * Ownership: a result holds a reference to its grad_fn; a node holds references to the nodes
 * (and leaf tensors) of its inputs and to the storage of the tensors it saved. A saved output is
 * a header without autograd state, so there are no reference cycles: dropping the last tensor of
 * a graph frees the graph. Unless retain_graph is set, backward frees each node's saved tensors
 * and edges as soon as the node has run; a later backward through such a node fails
 * ("backward through a part of the graph that was already freed"). Gradients are computed with
 * grad mode off (no double backward).
 *
 * In-place writes: every write into an existing tensor (out= / in-place ops, fill, copy_) bumps a
 * version counter kept in the storage (so views share it). A saved tensor remembers the version
 * it was saved at; backward fails with a message naming the op if it changed. While grad mode is
 * on, an in-place op on a tensor that requires grad is an error (a leaf: as PyTorch; a non-leaf:
 * Volt does not rebase histories: use the out-of-place form), and so is an out=/in-place op whose
 * inputs require grad, except copy_ into a tensor that does not require grad, which records the
 * copy (clone/cast/to_device are built on it).
 *
 *   vt_tensor *w, *y, *g;                               // w (3) f64
 *   vt_autograd_set_requires_grad(w, 1);
 *   vt_unary(vt_op_lookup("exp"), w, NULL, &y);          // y = exp(w), y's grad_fn "exp"
 *   vt_reduce(vt_op_lookup("sum"), y, 0, NULL, 0, 0, NULL, &s);
 *   vt_autograd_backward(s, NULL, 0);                   // w.grad += exp(w)
 *   vt_autograd_grad(w, &g);                            // g: a new reference (or NULL)
 */
#pragma once
#include "volt/tensor.h"

/* ---- per-tensor state ------------------------------------------------------------------- */
/* Sets or clears requires_grad. Only floating dtypes may require grad; only leaves may change it
   (a result of recorded ops has its grad_fn; detach it first). */
vt_status vt_autograd_set_requires_grad(vt_tensor* t, int flag);
int vt_autograd_requires_grad(const vt_tensor* t);
/* 1 when t has no grad_fn (tensors that do not require grad are leaves too, as PyTorch). */
int vt_autograd_is_leaf(const vt_tensor* t);
/* The op name of t's grad_fn ("mul", "matmul", "view", a Lua Function's name), or NULL. */
const char* vt_autograd_grad_fn_name(const vt_tensor* t);
/* [out] grad: t's accumulated gradient (a new reference), or NULL when it has none. */
vt_status vt_autograd_grad(const vt_tensor* t, vt_tensor** grad);
/* Replaces t's gradient with g (retained, not copied); g NULL clears it. g must have t's shape,
   dtype and device. */
vt_status vt_autograd_set_grad(vt_tensor* t, const vt_tensor* g);
/* Makes backward keep the gradient of the non-leaf t in its .grad (no-op on a leaf that requires
   grad; an error on a tensor that does not require grad). */
vt_status vt_autograd_retain_grad(vt_tensor* t);
int vt_autograd_retains_grad(const vt_tensor* t);
/* [out] out: a new tensor sharing t's storage, shape and strides, with no autograd state. */
vt_status vt_autograd_detach(const vt_tensor* t, vt_tensor** out);
/* Drops t's grad_fn and requires_grad in place (t becomes a leaf that does not require grad). */
vt_status vt_autograd_detach_(vt_tensor* t);
/* The version counter of t's storage (bumped by every write into it); 0 for empty tensors. */
uint32_t vt_autograd_version(const vt_tensor* t);

/* ---- grad mode (per thread) ------------------------------------------------------------- */
/* Sets grad mode on (1) or off (0); returns the previous mode. */
int vt_autograd_set_enabled(int enabled);
int vt_autograd_is_enabled(void);

/* ---- backward --------------------------------------------------------------------------- */
/* Runs the backward pass from root. grad: d(loss)/d(root), root's shape (converted to root's
   dtype); NULL means 1, allowed only when root has one element. retain_graph != 0 keeps the
   saved tensors so that backward can run again through this graph. root must require grad. */
vt_status vt_autograd_backward(vt_tensor* root, const vt_tensor* grad, int retain_graph);

/* ---- functions defined outside the runtime (Lua's volt.autograd.Function) --------------- */
/* Called by backward for a custom node: grad_outputs (nout) are the gradients of its outputs
   (NULL for an output that received none); the callee stores in grad_inputs (nin, NULL on entry)
   a new reference per input, or leaves NULL for no gradient. Returns 0, or non-zero after
   recording a message with vt_set_error_message. */
typedef int (*vt_autograd_custom_fn)(int64_t id, int nout, vt_tensor** grad_outputs, int nin,
                                     vt_tensor** grad_inputs);
/* Registers the callback for custom nodes (one per process; Lua sets it). */
void vt_autograd_set_custom_backward(vt_autograd_custom_fn fn);
/* Records a custom node named name (copied) with id over inputs (nin; those that require grad get
   edges) and makes each of outputs (nout, fresh results without history) require grad with this
   node as grad_fn. Records nothing and returns VT_OK when grad mode is off or no input requires
   grad. */
vt_status vt_autograd_custom_record(int64_t id, const char* name, int nin,
                                    vt_tensor* const* inputs, int nout, vt_tensor* const* outputs);
/* 1 if recording would happen for these inputs (grad mode on and one of them requires grad). */
int vt_autograd_would_record(int nin, vt_tensor* const* inputs);
/* Ids of custom nodes freed since the last call (at most cap are returned, the rest kept). The
   owner of the ids drops what it keeps for them. */
int vt_autograd_custom_pop_freed(int64_t* ids, int cap);

/* ---- introspection (tests) -------------------------------------------------------------- */
/* Number of graph nodes alive, and of tensors saved by them. */
int64_t vt_autograd_live_nodes(void);
int64_t vt_autograd_live_saved(void);
