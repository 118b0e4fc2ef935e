/* engine.c — autograd state and the backward engine: per-tensor meta (requires_grad, grad,
 * grad_fn), grad mode, recording nodes for the op front-ends, in-place checks, and the backward
 * pass (iterative topological order, gradient buffers per node, accumulation into leaves).
 * The per-op gradient formulas live in formulas.c.
 */
#include <math.h>
#include <string.h>
#include "autograd/node.h"
#include "core/pool.h"
#include "core/util.h"
#include "ops/op.h"
#include "volt/elementwise.h"
#include "volt/ops.h"
#include "volt/reduce.h"

_Thread_local int vt_ag_mode = 1;

extern void (*vt_autograd_meta_free_fn)(vt_autograd_meta*);

static int64_t vt_ag_nodes_alive, vt_ag_saved_alive;

/* ---------------------------------------------------------------------------------------- */
/* meta                                                                                     */
/* ---------------------------------------------------------------------------------------- */
static void vt_ag_node_release(vt_ag_node* n);

static void vt_ag_meta_release(vt_autograd_meta* m) {
  if (!m) return;
  vt_ag_meta_box* b = (vt_ag_meta_box*)m;
  if (--b->refcount > 0) return;
  if (m->grad_fn && m->grad_fn->retained == m) m->grad_fn->retained = NULL;
  vt_tensor_release(m->grad);
  vt_ag_node_release(m->grad_fn);
  free(b);
}

static void vt_ag_meta_free(vt_autograd_meta* m) { vt_ag_meta_release(m); }

static vt_autograd_meta* vt_ag_meta(vt_tensor* t) {
  if (t->ag) return t->ag;
  vt_ag_meta_box* b = calloc(1, sizeof *b);
  if (!b) return NULL;
  b->refcount = 1;
  vt_autograd_meta_free_fn = vt_ag_meta_free;
  t->ag = &b->m;
  return t->ag;
}

static void vt_ag_meta_retain(vt_autograd_meta* m) { ((vt_ag_meta_box*)m)->refcount++; }

/* ---------------------------------------------------------------------------------------- */
/* nodes                                                                                    */
/* ---------------------------------------------------------------------------------------- */
static vt_ag_node* vt_ag_node_new(int nin, int nout) {
  size_t sz = sizeof(vt_ag_node) + sizeof(vt_ag_edge) * (size_t)nin + sizeof(vt_tensor*) * (size_t)nout;
  /* nodes of up to VT_POOL_NODE_IO inputs and outputs (nearly all) come from a freelist */
  int pooled = nin <= VT_POOL_NODE_IO && nout <= VT_POOL_NODE_IO;
  vt_ag_node* n = pooled ? vt_pool_take(VT_POOL_NODE) : malloc(sz);
  if (!n) return NULL;
  memset(n, 0, offsetof(vt_ag_node, saved));
  for (int k = 0; k < VT_SV_COUNT; k++) n->saved[k].present = 0;
  n->retained = NULL;
  n->custom_id = 0;
  n->name = NULL;
  n->epoch = 0;
  n->deps = 0;
  n->next_free = NULL;
  memset(n->edges, 0, sizeof(vt_ag_edge) * (size_t)nin);
  n->gbuf = (vt_tensor**)((char*)n->edges + sizeof(vt_ag_edge) * (size_t)nin);
  memset(n->gbuf, 0, sizeof(vt_tensor*) * (size_t)nout);
  n->refcount = 1;
  n->nin = nin;
  n->nout = nout;
  vt_ag_nodes_alive++;
  return n;
}

static void vt_ag_node_retain(vt_ag_node* n) { if (n) n->refcount++; }

static void vt_ag_unsave(vt_ag_saved* s) {
  if (!s->present) return;
  vt_storage_release(s->t.storage);
  s->t.storage = NULL;
  s->present = 0;
  vt_ag_saved_alive--;
}

/* Frees saved tensors and edges; the edge nodes whose count drops to 0 go to *list. */
static void vt_ag_node_strip(vt_ag_node* n, vt_ag_node** list) {
  for (int k = 0; k < VT_SV_COUNT; k++) vt_ag_unsave(&n->saved[k]);
  for (int j = 0; j < n->nin; j++) {
    vt_ag_edge* e = &n->edges[j];
    if (e->node) {
      if (--e->node->refcount == 0) {
        e->node->next_free = *list;
        *list = e->node;
      }
      e->node = NULL;
    }
    if (e->leaf) {
      vt_ag_meta_release(e->leaf);
      e->leaf = NULL;
    }
  }
}

static int64_t vt_ag_custom_freed_buf[1024];
static int vt_ag_custom_freed_n;
static int64_t* vt_ag_custom_freed_more;
static int vt_ag_custom_freed_more_n, vt_ag_custom_freed_more_cap;

static void vt_ag_custom_freed(int64_t id) {
  if (vt_ag_custom_freed_n < 1024) {
    vt_ag_custom_freed_buf[vt_ag_custom_freed_n++] = id;
    return;
  }
  if (vt_ag_custom_freed_more_n == vt_ag_custom_freed_more_cap) {
    int cap = vt_ag_custom_freed_more_cap ? 2 * vt_ag_custom_freed_more_cap : 1024;
    int64_t* p = realloc(vt_ag_custom_freed_more, sizeof(int64_t) * (size_t)cap);
    if (!p) return; /* the id leaks its Lua context; nothing else */
    vt_ag_custom_freed_more = p;
    vt_ag_custom_freed_more_cap = cap;
  }
  vt_ag_custom_freed_more[vt_ag_custom_freed_more_n++] = id;
}

int vt_autograd_custom_pop_freed(int64_t* ids, int cap) {
  int k = 0;
  while (k < cap && vt_ag_custom_freed_more_n > 0) ids[k++] = vt_ag_custom_freed_more[--vt_ag_custom_freed_more_n];
  while (k < cap && vt_ag_custom_freed_n > 0) ids[k++] = vt_ag_custom_freed_buf[--vt_ag_custom_freed_n];
  return k;
}

/* Iterative: a long chain of nodes is freed without recursion. */
static void vt_ag_node_release(vt_ag_node* n) {
  if (!n || --n->refcount > 0) return;
  vt_ag_node* list = n;
  n->next_free = NULL;
  while (list) {
    vt_ag_node* m = list;
    list = m->next_free;
    vt_ag_node_strip(m, &list);
    for (int k = 0; k < m->nout; k++) vt_tensor_release(m->gbuf[k]);
    if (m->op == VT_AG_CUSTOM) vt_ag_custom_freed(m->custom_id);
    free(m->name);
    if (m->nin <= VT_POOL_NODE_IO && m->nout <= VT_POOL_NODE_IO) vt_pool_give(VT_POOL_NODE, m);
    else free(m);
    vt_ag_nodes_alive--;
  }
}

static void vt_ag_save(vt_ag_node* n, int slot, const vt_tensor* t) {
  if (!t) return;
  vt_ag_saved* s = &n->saved[slot];
  s->t = *t;
  s->t.ag = NULL;
  s->t.refcount = 1;
  vt_storage_retain(s->t.storage);
  s->version = vt_storage_version(t->storage);
  s->present = 1;
  vt_ag_saved_alive++;
}

/* The edge for input x. */
static void vt_ag_edge_set(vt_ag_edge* e, const vt_tensor* x) {
  e->ndim = x->ndim;
  e->dt = x->dt;
  e->dev = x->dev;
  memcpy(e->sizes, x->sizes, sizeof e->sizes);
  if (!vt_ag_req(x)) return;
  if (x->ag->grad_fn) {
    e->node = x->ag->grad_fn;
    e->output_nr = x->ag->output_nr;
    vt_ag_node_retain(e->node);
  } else {
    e->leaf = x->ag;
    vt_ag_meta_retain(e->leaf);
  }
}

/* Makes node output nr of n the history of y (takes over the caller's reference to n). */
static vt_status vt_ag_set_history(vt_tensor* y, vt_ag_node* n, int nr) {
  vt_autograd_meta* m = vt_ag_meta(y);
  if (!m) {
    vt_ag_node_release(n);
    return vt_set_error(VT_ERR_OOM, "autograd: out of host memory");
  }
  vt_ag_node* old = m->grad_fn;
  if (old && old->retained == m) old->retained = NULL;
  m->grad_fn = n;
  m->output_nr = nr;
  m->requires_grad = 1;
  if (m->retains_grad && nr == 0) n->retained = m;
  vt_ag_node_release(old);
  return VT_OK;
}

const char* vt_ag_node_name(const vt_ag_node* n) {
  if (n->name) return n->name;
  switch (n->op) {
    case VT_AG_VIEW: return "view";
    case VT_AG_TRANSPOSE: return "transpose";
    case VT_AG_PERMUTE: return "permute";
    case VT_AG_NARROW: return "narrow";
    case VT_AG_SELECT: return "select";
    case VT_AG_SLICE: return "slice";
    case VT_AG_EXPAND: return "expand";
    case VT_AG_AS_STRIDED: return "as_strided";
    case VT_AG_CUSTOM: return "custom";
    default: return vt_op_name(n->op) ? vt_op_name(n->op) : "?";
  }
}

/* ---------------------------------------------------------------------------------------- */
/* recording                                                                                */
/* ---------------------------------------------------------------------------------------- */
int vt_ag_on_list(int n, const vt_tensor* const* ts) {
  if (!vt_ag_mode) return 0;
  for (int j = 0; j < n; j++)
    if (vt_ag_req(ts[j])) return 1;
  return 0;
}

static int vt_ag_differentiable(int op) {
  if (op >= VT_AG_VIEW) return 1;
  switch (op) {
    case VT_OP_logical_not: case VT_OP_eq: case VT_OP_ne: case VT_OP_lt: case VT_OP_le:
    case VT_OP_gt: case VT_OP_ge: case VT_OP_logical_and: case VT_OP_logical_or: case VT_OP_fill:
    case VT_OP_all: case VT_OP_any: case VT_OP_argmax: case VT_OP_argmin: case VT_OP_one_hot:
    case VT_OP_uniform: case VT_OP_normal: case VT_OP_randint: case VT_OP_bernoulli:
    case VT_OP_randperm:
      return 0;
    default: { /* `<op>_backward` kernels of the fused layer ops: no double backward */
      static signed char known[VT_OP_COUNT]; /* 0 unknown, 1 yes, -1 no (benign race: same value) */
      if (op < 0 || op >= VT_OP_COUNT) return 0;
      if (!known[op]) {
        const char* name = vt_op_name(op);
        size_t len = name ? strlen(name) : 0;
        known[op] = (len > 9 && strcmp(name + len - 9, "_backward") == 0) ? -1 : 1;
      }
      return known[op] > 0;
    }
  }
}

/* Which inputs (bit j) and whether the output (bit 8) the backward of op reads. */
static unsigned vt_ag_saves(const vt_ag_rec* r) {
  int rq0 = r->nin > 0 && vt_ag_req(r->in[0]), rq1 = r->nin > 1 && vt_ag_req(r->in[1]);
  switch (r->op) {
    case VT_OP_neg: case VT_OP_add: case VT_OP_sub: case VT_OP_copy: case VT_OP_sum:
    case VT_OP_mean: case VT_OP_index_select: case VT_OP_gather: case VT_OP_scatter:
    case VT_OP_scatter_add: case VT_OP_index_add: case VT_OP_masked_fill: case VT_OP_cat:
    case VT_OP_tril: case VT_OP_triu: case VT_OP_cumsum:
      return 0;
    case VT_OP_exp: case VT_OP_sqrt: case VT_OP_rsqrt: case VT_OP_tanh: case VT_OP_sigmoid:
    case VT_OP_relu: case VT_OP_reciprocal: case VT_OP_softmax: case VT_OP_log_softmax:
      return 0x100;
    case VT_OP_mul:
      if (r->variant) return 0;
      return (rq1 ? 1u : 0u) | (rq0 ? 2u : 0u);
    case VT_OP_matmul:
      return (rq1 ? 1u : 0u) | (rq0 ? 2u : 0u);
    case VT_OP_div:
      if (r->variant) return r->i[0] ? 0x101 : 0;
      return rq1 ? 0x3 : 0x2;
    case VT_OP_pow:
      return r->variant ? 0x101 : 0x103;
    case VT_OP_maximum: case VT_OP_minimum:
      return r->variant ? 1 : 3;
    case VT_OP_where:
      return 0;
    case VT_OP_lerp:
      return r->variant ? 0 : 0x7;
    case VT_OP_prod: case VT_OP_amax: case VT_OP_amin: case VT_OP_std: case VT_OP_logsumexp:
    case VT_OP_norm: case VT_OP_max: case VT_OP_min:
      return 0x101;
    case VT_OP_var:
      return 1;
    case VT_OP_linear: /* x, w (fused.c) */
      return 0x3;
    case VT_OP_cross_entropy: /* logits, target, weight; X0 = lse */
      return 0x7;
    case VT_OP_sdpa: /* q, k, v, o; X0 = lse */
      return 0x107;
    case VT_AG_AS_STRIDED:
      return 0x101;
    case VT_AG_VIEW: case VT_AG_TRANSPOSE: case VT_AG_PERMUTE: case VT_AG_NARROW:
    case VT_AG_SELECT: case VT_AG_SLICE: case VT_AG_EXPAND:
      return 0;
    default: /* unary math reads its input */
      return 1;
  }
}

static vt_status vt_ag_build(const vt_ag_rec* r, vt_tensor* y) {
  int nin = r->nin;
  vt_ag_node* n = vt_ag_node_new(nin, 1);
  if (!n) return vt_set_error(VT_ERR_OOM, "autograd: out of host memory");
  n->op = r->op;
  n->variant = r->variant;
  memcpy(n->i, r->i, sizeof n->i);
  memcpy(n->f, r->f, sizeof n->f);
  for (int j = 0; j < nin; j++) {
    const vt_tensor* x = r->list ? r->list[j] : r->in[j];
    if (x) vt_ag_edge_set(&n->edges[j], x);
  }
  unsigned sv = vt_ag_saves(r);
  for (int j = 0; j < 3 && j < nin; j++)
    if (sv >> j & 1) vt_ag_save(n, VT_SV_IN0 + j, r->in[j]);
  if (sv & 0x100) vt_ag_save(n, VT_SV_OUT, y);
  for (int j = 0; j < 2; j++)
    if (r->extra[j]) vt_ag_save(n, VT_SV_X0 + j, r->extra[j]);
  if (r->name) {
    n->name = strdup(r->name);
  }
  return vt_ag_set_history(y, n, 0);
}

static void vt_ag_drop(vt_tensor* out, vt_tensor** res) {
  if (res && *res) {
    vt_tensor_release(*res);
    *res = NULL;
  }
}

vt_status vt_ag_record(const vt_ag_rec* r, vt_tensor* out, vt_tensor** res) {
  vt_tensor* y = out ? out : (res ? *res : NULL);
  if (!y || !vt_dtype_is_float((vt_dtype)y->dt) || !vt_ag_differentiable(r->op)) return VT_OK;
  const char* name = r->op < VT_AG_VIEW ? vt_op_name(r->op) : (r->name ? r->name : "view");
  if (out) {
    vt_ag_drop(out, res);
    return vt_set_error(VT_ERR_ARG,
                        "%s: the out= and in-place forms do not support autograd when an input "
                        "requires grad; use the out-of-place form (or run it under no_grad)",
                        name);
  }
  for (int j = 0; j < r->nin; j++) {
    const vt_tensor* x = r->list ? r->list[j] : r->in[j];
    if (x == y) return VT_OK; /* the op gave its input back (contiguous, cast to the same dtype) */
  }
  vt_status s = vt_ag_build(r, y);
  if (s != VT_OK) vt_ag_drop(out, res);
  return s;
}

vt_status vt_ag_record_view(const vt_ag_rec* r, const vt_tensor* x, vt_tensor** y) {
  if (!*y || *y == x) return VT_OK;
  vt_ag_rec rr = *r;
  rr.nin = 1;
  rr.in[0] = x;
  rr.list = NULL;
  if (!vt_dtype_is_float((vt_dtype)x->dt)) return VT_OK;
  vt_status s = vt_ag_build(&rr, *y);
  if (s != VT_OK) {
    vt_tensor_release(*y);
    *y = NULL;
  }
  return s;
}

vt_status vt_ag_record_copy(vt_tensor* dst, const vt_tensor* src) {
  /* a header without storage is a stack view over foreign memory (to_buffer): no history */
  if (!vt_ag_on1(src) || dst == src || !dst->storage || !vt_dtype_is_float((vt_dtype)dst->dt))
    return VT_OK;
  /* dst's history can only be replaced when nothing else views its memory: a view written
     through copy_ would leave its base without the history (PyTorch's CopySlices) */
  if (dst->storage && vt_storage_refcount(dst->storage) > 1)
    return vt_set_error(VT_ERR_ARG,
                        "copy_: copying a tensor that requires grad into a view (or a tensor sharing "
                        "its memory) is not supported by autograd; build the result with "
                        "cat/stack/where/scatter, or copy a detached source");
  vt_ag_rec r = {.op = VT_OP_copy, .nin = 1, .in = {src}};
  return vt_ag_build(&r, dst);
}

vt_status vt_ag_on_write(const char* op, vt_tensor* t) {
  if (vt_ag_mode && t->ag && t->ag->requires_grad) {
    if (!t->ag->grad_fn)
      return vt_set_error(VT_ERR_ARG,
                          "%s: a leaf tensor that requires grad is being used in an in-place "
                          "operation (modify it under volt.no_grad, or work on a clone)",
                          op);
    return vt_set_error(VT_ERR_ARG,
                        "%s: in-place operation on a tensor that requires grad (it is the result "
                        "of %s); Volt's autograd does not support in-place ops on such tensors: "
                        "use the out-of-place form",
                        op, vt_ag_node_name(t->ag->grad_fn));
  }
  if (t->storage) vt_storage_bump_version(t->storage);
  return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* public per-tensor API                                                                    */
/* ---------------------------------------------------------------------------------------- */
vt_status vt_autograd_set_requires_grad(vt_tensor* t, int flag) {
  VT_TRY(vt_check_tensor("requires_grad", "tensor", t));
  if (t->ag && t->ag->grad_fn) {
    if (flag) return VT_OK;
    return vt_set_error(VT_ERR_ARG,
                        "requires_grad: only leaf tensors can change requires_grad (this one is the "
                        "result of %s); use detach()",
                        vt_ag_node_name(t->ag->grad_fn));
  }
  if (flag && !vt_dtype_is_float((vt_dtype)t->dt))
    return vt_set_error(VT_ERR_DTYPE,
                        "requires_grad: only floating-point tensors can require grad (got %s)",
                        vt_dtype_name(t->dt));
  if (!flag && !t->ag) return VT_OK;
  vt_autograd_meta* m = vt_ag_meta(t);
  if (!m) return vt_set_error(VT_ERR_OOM, "requires_grad: out of host memory");
  m->requires_grad = flag ? 1 : 0;
  return VT_OK;
}

int vt_autograd_requires_grad(const vt_tensor* t) { return vt_ag_req(t); }
int vt_autograd_is_leaf(const vt_tensor* t) { return !(t && t->ag && t->ag->grad_fn); }

const char* vt_autograd_grad_fn_name(const vt_tensor* t) {
  if (!t || !t->ag || !t->ag->grad_fn) return NULL;
  return vt_ag_node_name(t->ag->grad_fn);
}

vt_status vt_autograd_grad(const vt_tensor* t, vt_tensor** grad) {
  VT_CHECK_ARG(grad != NULL, "grad: NULL output");
  *grad = NULL;
  VT_TRY(vt_check_tensor("grad", "tensor", t));
  if (t->ag && t->ag->grad) {
    vt_tensor_retain(t->ag->grad);
    *grad = t->ag->grad;
  }
  return VT_OK;
}

vt_status vt_autograd_detach(const vt_tensor* t, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "detach: NULL output");
  *out = NULL;
  VT_TRY(vt_check_tensor("detach", "tensor", t));
  vt_tensor* v = vt_pool_take(VT_POOL_HEADER); /* released by vt_tensor_release, as every header */
  if (!v) return vt_set_error(VT_ERR_OOM, "detach: out of host memory");
  *v = *t;
  v->refcount = 1;
  v->ag = NULL;
  vt_storage_retain(v->storage);
  *out = v;
  return VT_OK;
}

vt_status vt_autograd_set_grad(vt_tensor* t, const vt_tensor* g) {
  VT_TRY(vt_check_tensor("grad", "tensor", t));
  if (!g) {
    if (t->ag && t->ag->grad) {
      vt_tensor_release(t->ag->grad);
      t->ag->grad = NULL;
    }
    return VT_OK;
  }
  VT_TRY(vt_check_tensor("grad", "gradient", g));
  if (g->ndim != t->ndim || memcmp(g->sizes, t->sizes, sizeof(int64_t) * (size_t)t->ndim) != 0)
    return vt_set_error(VT_ERR_SHAPE, "grad: gradient of shape %s assigned to a tensor of shape %s",
                        vt_shape_s(g), vt_shape_s(t));
  if (g->dt != t->dt)
    return vt_set_error(VT_ERR_DTYPE, "grad: gradient of dtype %s assigned to a tensor of dtype %s",
                        vt_dtype_name(g->dt), vt_dtype_name(t->dt));
  if (!vt_same_device(g->dev, t->dev))
    return vt_set_error(VT_ERR_DEVICE, "grad: gradient is on %s but the tensor is on %s",
                        vt_device_type_name(g->dev.type), vt_device_type_name(t->dev.type));
  vt_autograd_meta* m = vt_ag_meta(t);
  if (!m) return vt_set_error(VT_ERR_OOM, "grad: out of host memory");
  vt_tensor* keep;
  if (g->ag) {
    VT_TRY(vt_autograd_detach(g, &keep)); /* a grad with history would tie graphs together */
  } else {
    keep = (vt_tensor*)g;
    vt_tensor_retain(keep);
  }
  vt_tensor_release(m->grad);
  m->grad = keep;
  return VT_OK;
}

vt_status vt_autograd_retain_grad(vt_tensor* t) {
  VT_TRY(vt_check_tensor("retain_grad", "tensor", t));
  if (!vt_ag_req(t))
    return vt_set_error(VT_ERR_ARG, "retain_grad: the tensor does not require grad");
  if (!t->ag->grad_fn) return VT_OK;
  if (t->ag->output_nr != 0)
    return vt_set_error(VT_ERR_UNSUPPORTED, "retain_grad: not supported for output %d of %s",
                        t->ag->output_nr + 1, vt_ag_node_name(t->ag->grad_fn));
  t->ag->retains_grad = 1;
  t->ag->grad_fn->retained = t->ag;
  return VT_OK;
}

int vt_autograd_retains_grad(const vt_tensor* t) {
  return t && t->ag && t->ag->grad_fn && t->ag->retains_grad;
}

vt_status vt_autograd_detach_(vt_tensor* t) {
  VT_TRY(vt_check_tensor("detach_", "tensor", t));
  if (!t->ag) return VT_OK;
  vt_ag_node* old = t->ag->grad_fn;
  if (old && old->retained == t->ag) old->retained = NULL;
  t->ag->grad_fn = NULL;
  t->ag->requires_grad = 0;
  t->ag->retains_grad = 0;
  t->ag->output_nr = 0;
  vt_ag_node_release(old);
  return VT_OK;
}

uint32_t vt_autograd_version(const vt_tensor* t) { return t ? vt_storage_version(t->storage) : 0; }

int vt_autograd_set_enabled(int enabled) {
  int old = vt_ag_mode;
  vt_ag_mode = enabled ? 1 : 0;
  return old;
}
int vt_autograd_is_enabled(void) { return vt_ag_mode; }

int64_t vt_autograd_live_nodes(void) { return vt_ag_nodes_alive; }
int64_t vt_autograd_live_saved(void) { return vt_ag_saved_alive; }

/* ---------------------------------------------------------------------------------------- */
/* custom (Lua) functions                                                                   */
/* ---------------------------------------------------------------------------------------- */
static vt_autograd_custom_fn vt_ag_custom_cb;

void vt_autograd_set_custom_backward(vt_autograd_custom_fn fn) { vt_ag_custom_cb = fn; }

int vt_autograd_would_record(int nin, vt_tensor* const* inputs) {
  return vt_ag_on_list(nin, (const vt_tensor* const*)inputs);
}

vt_status vt_autograd_custom_record(int64_t id, const char* name, int nin, vt_tensor* const* inputs,
                                    int nout, vt_tensor* const* outputs) {
  VT_CHECK_ARG(nin >= 0 && nout >= 1 && (nin == 0 || inputs) && outputs,
               "Function: bad arguments (%d inputs, %d outputs)", nin, nout);
  for (int j = 0; j < nin; j++)
    if (inputs[j]) VT_TRY(vt_check_tensor("Function", "input", inputs[j]));
  for (int k = 0; k < nout; k++) VT_TRY(vt_check_tensor("Function", "output", outputs[k]));
  if (!vt_ag_on_list(nin, (const vt_tensor* const*)inputs)) return VT_OK;
  vt_ag_node* n = vt_ag_node_new(nin, nout);
  if (!n) return vt_set_error(VT_ERR_OOM, "Function: out of host memory");
  n->op = VT_AG_CUSTOM;
  n->custom_id = id;
  n->name = strdup(name ? name : "Function");
  for (int j = 0; j < nin; j++)
    if (inputs[j]) vt_ag_edge_set(&n->edges[j], inputs[j]);
  vt_status s = VT_OK;
  for (int k = 0; k < nout && s == VT_OK; k++) {
    if (!vt_dtype_is_float((vt_dtype)outputs[k]->dt)) continue;
    vt_ag_node_retain(n);
    s = vt_ag_set_history(outputs[k], n, k);
  }
  vt_ag_node_release(n);
  return s;
}

vt_status vt_ag_backward_custom(vt_ag_node* n, vt_tensor** gin) {
  if (!vt_ag_custom_cb)
    return vt_set_error(VT_ERR_INTERNAL, "backward: no callback registered for %s", n->name);
  vt_clear_error();
  if (vt_ag_custom_cb(n->custom_id, n->nout, n->gbuf, n->nin, gin) != 0) {
    if (vt_last_status() == VT_OK)
      return vt_set_error(VT_ERR_ARG, "backward of %s failed", n->name);
    return vt_last_status();
  }
  return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* backward                                                                                 */
/* ---------------------------------------------------------------------------------------- */
static uint64_t vt_ag_epoch;

/* A growable array of nodes that starts in `inl` (no allocation for small graphs). */
typedef struct {
  vt_ag_node** p;
  int64_t n, cap;
  vt_ag_node* inl[32];
} vt_ag_vec;

static void vt_ag_vec_init(vt_ag_vec* v) {
  v->p = v->inl;
  v->n = 0;
  v->cap = 32;
}
static void vt_ag_vec_free(vt_ag_vec* v) {
  if (v->p != v->inl) free(v->p);
}

static int vt_ag_push(vt_ag_vec* v, vt_ag_node* x) {
  if (v->n == v->cap) {
    int64_t cap = 2 * v->cap;
    vt_ag_node** p;
    if (v->p == v->inl) {
      p = malloc(sizeof(*p) * (size_t)cap);
      if (p) memcpy(p, v->p, sizeof(*p) * (size_t)v->n);
    } else {
      p = realloc(v->p, sizeof(*p) * (size_t)cap);
    }
    if (!p) return 0;
    v->p = p;
    v->cap = cap;
  }
  v->p[v->n++] = x;
  return 1;
}

/* Adds g (consumed) into *slot. */
static vt_status vt_ag_accumulate(vt_tensor** slot, vt_tensor* g) {
  if (!*slot) {
    *slot = g;
    return VT_OK;
  }
  vt_tensor* sum;
  vt_status s = vt_binary(VT_OP_add, *slot, g, NULL, &sum);
  vt_tensor_release(g);
  if (s != VT_OK) return s;
  vt_tensor_release(*slot);
  *slot = sum;
  return VT_OK;
}

/* Accumulates g (consumed) into a leaf's (or a retained tensor's) .grad. */
static vt_status vt_ag_accumulate_leaf(vt_autograd_meta* m, vt_tensor* g) {
  vt_status s = VT_OK;
  if (!m->grad) {
    int owned = g->refcount == 1 && vt_tensor_is_contiguous(g) && g->storage &&
                vt_storage_refcount(g->storage) == 1 && !g->ag;
    if (owned || g->nelem == 0) {
      m->grad = g;
      return VT_OK;
    }
    s = vt_tensor_clone(g, &m->grad);
  } else {
    s = vt_binary(VT_OP_add, m->grad, g, m->grad, NULL);
  }
  vt_tensor_release(g);
  return s;
}

/* Reduces, casts and moves g (consumed) to the input described by e. [out] out */
static vt_status vt_ag_fit(vt_tensor* g, const vt_ag_edge* e, vt_tensor** out) {
  vt_status s = VT_OK;
  if (g->ndim != e->ndim || memcmp(g->sizes, e->sizes, sizeof(int64_t) * (size_t)e->ndim) != 0) {
    vt_tensor* r;
    s = vt_ag_sum_to(g, e->ndim, e->sizes, &r);
    vt_tensor_release(g);
    if (s != VT_OK) return s;
    g = r;
  }
  if (g->dt != e->dt) {
    vt_tensor* r;
    s = vt_tensor_cast(g, (vt_dtype)e->dt, &r);
    vt_tensor_release(g);
    if (s != VT_OK) return s;
    g = r;
  }
  if (!vt_same_device(g->dev, e->dev)) {
    vt_tensor* r;
    s = vt_tensor_to_device(g, e->dev, &r);
    vt_tensor_release(g);
    if (s != VT_OK) return s;
    g = r;
  }
  *out = g;
  return VT_OK;
}

vt_status vt_ag_backward_custom(vt_ag_node* n, vt_tensor** gin);

static vt_status vt_ag_run_node(vt_ag_node* n, int retain) {
  const char* name = vt_ag_node_name(n);
  if (n->released)
    return vt_set_error(VT_ERR_ARG,
                        "backward: trying to backward through a part of the graph that was already "
                        "freed (%s): the saved tensors were released by an earlier backward; pass "
                        "retain_graph = true to that backward to call backward twice",
                        name);
  if (n->retained && n->gbuf[0]) {
    vt_tensor_retain(n->gbuf[0]);
    VT_TRY(vt_ag_accumulate_leaf(n->retained, n->gbuf[0]));
  }
  int any = 0;
  for (int k = 0; k < n->nout; k++)
    if (n->gbuf[k]) any = 1;
  if (!any) return VT_OK;
  for (int k = 0; k < VT_SV_COUNT; k++) {
    vt_ag_saved* sv = &n->saved[k];
    if (sv->present && vt_storage_version(sv->t.storage) != sv->version)
      return vt_set_error(VT_ERR_ARG,
                          "backward: a tensor saved by %s (shape %s) was modified by an in-place "
                          "operation after it was saved (version %u, now %u); one of the "
                          "variables needed for gradient computation has been modified in place",
                          name, vt_shape_s(&sv->t), sv->version, vt_storage_version(sv->t.storage));
  }
  int need_stack[4];
  vt_tensor* gin_stack[4];
  int* need = n->nin <= 4 ? need_stack : malloc(sizeof(int) * (size_t)n->nin);
  vt_tensor** gin = n->nin <= 4 ? gin_stack : malloc(sizeof(vt_tensor*) * (size_t)n->nin);
  if (!need || !gin) {
    if (need != need_stack) free(need);
    if (gin != gin_stack) free(gin);
    return vt_set_error(VT_ERR_OOM, "backward: out of host memory");
  }
  for (int j = 0; j < n->nin; j++) {
    need[j] = n->edges[j].node != NULL || n->edges[j].leaf != NULL;
    gin[j] = NULL;
  }
  vt_status s;
  if (n->op == VT_AG_CUSTOM) {
    s = vt_ag_backward_custom(n, gin);
  } else {
    s = vt_ag_backward_op(n, need, gin);
  }
  for (int j = 0; j < n->nin; j++) {
    vt_tensor* g = gin[j];
    if (!g) continue;
    gin[j] = NULL;
    vt_ag_edge* e = &n->edges[j];
    if (s != VT_OK || !need[j]) {
      vt_tensor_release(g);
      continue;
    }
    if (n->op == VT_AG_CUSTOM) {
      /* a Lua backward must return the input's shape (or one that broadcasts to it) */
      int ok = g->ndim >= e->ndim;
      for (int d = 0; ok && d < e->ndim; d++) {
        int64_t gs = g->sizes[g->ndim - e->ndim + d];
        if (gs != e->sizes[d] && e->sizes[d] != 1) ok = 0;
      }
      if (!ok) {
        s = vt_set_error(VT_ERR_SHAPE, "backward of %s: gradient %d has shape %s but input %d has shape %s",
                         name, j + 1, vt_shape_s(g), j + 1, vt_shape_s2(e->ndim, e->sizes));
        vt_tensor_release(g);
        continue;
      }
    }
    vt_tensor* fit;
    s = vt_ag_fit(g, e, &fit);
    if (s != VT_OK) continue;
    if (e->leaf) s = vt_ag_accumulate_leaf(e->leaf, fit);
    else s = vt_ag_accumulate(&e->node->gbuf[e->output_nr], fit);
  }
  if (need != need_stack) free(need);
  if (gin != gin_stack) free(gin);
  return s;
}

vt_status vt_autograd_backward(vt_tensor* root, const vt_tensor* grad, int retain) {
  VT_TRY(vt_check_tensor("backward", "tensor", root));
  if (!vt_ag_req(root))
    return vt_set_error(VT_ERR_ARG,
                        "backward: the tensor does not require grad and has no grad_fn (was it "
                        "computed under no_grad, or from tensors that do not require grad?)");
  vt_tensor* g0 = NULL;
  if (!grad) {
    if (root->nelem != 1)
      return vt_set_error(VT_ERR_ARG,
                          "backward: grad can be implicitly created only for a tensor with one "
                          "element (this one has shape %s); pass a gradient of that shape",
                          vt_shape_s(root));
    VT_TRY(vt_tensor_full(root->ndim, root->sizes, (vt_dtype)root->dt, root->dev, 1.0, &g0));
  } else {
    VT_TRY(vt_check_tensor("backward", "gradient", grad));
    if (grad->ndim != root->ndim ||
        memcmp(grad->sizes, root->sizes, sizeof(int64_t) * (size_t)root->ndim) != 0)
      return vt_set_error(VT_ERR_SHAPE, "backward: gradient of shape %s for a tensor of shape %s",
                          vt_shape_s(grad), vt_shape_s(root));
    VT_TRY(vt_autograd_detach(grad, &g0));
    vt_ag_edge e = {.ndim = root->ndim, .dt = root->dt, .dev = root->dev};
    memcpy(e.sizes, root->sizes, sizeof e.sizes);
    VT_TRY(vt_ag_fit(g0, &e, &g0));
  }
  int mode = vt_ag_mode;
  vt_ag_mode = 0;
  vt_status s = VT_OK;
  vt_ag_node* rn = root->ag->grad_fn;
  if (!rn) {
    s = vt_ag_accumulate_leaf(root->ag, g0);
    vt_ag_mode = mode;
    return s;
  }
  /* collect the reachable nodes (each retained until the end) and count their dependencies */
  vt_ag_vec all, stack;
  vt_ag_vec_init(&all);
  vt_ag_vec_init(&stack);
  uint64_t ep = ++vt_ag_epoch;
  rn->epoch = ep;
  rn->deps = 0;
  vt_ag_node_retain(rn);
  if (!vt_ag_push(&all, rn) || !vt_ag_push(&stack, rn)) s = vt_set_error(VT_ERR_OOM, "backward: out of host memory");
  while (s == VT_OK && stack.n > 0) {
    vt_ag_node* n = stack.p[--stack.n];
    for (int j = 0; j < n->nin; j++) {
      vt_ag_node* m = n->edges[j].node;
      if (!m) continue;
      if (m->epoch != ep) {
        m->epoch = ep;
        m->deps = 0;
        vt_ag_node_retain(m);
        if (!vt_ag_push(&all, m) || !vt_ag_push(&stack, m)) {
          s = vt_set_error(VT_ERR_OOM, "backward: out of host memory");
          break;
        }
      }
      m->deps++;
    }
  }
  /* run in topological order */
  if (s == VT_OK) {
    rn->gbuf[root->ag->output_nr] = g0;
    g0 = NULL;
    stack.n = 0;
    vt_ag_push(&stack, rn);
  }
  while (s == VT_OK && stack.n > 0) {
    vt_ag_node* n = stack.p[--stack.n];
    s = vt_ag_run_node(n, retain);
    for (int k = 0; k < n->nout; k++) {
      vt_tensor_release(n->gbuf[k]);
      n->gbuf[k] = NULL;
    }
    if (s != VT_OK) break;
    for (int j = 0; j < n->nin; j++) {
      vt_ag_node* m = n->edges[j].node;
      if (m && --m->deps == 0 && !vt_ag_push(&stack, m)) {
        s = vt_set_error(VT_ERR_OOM, "backward: out of host memory");
        break;
      }
    }
    if (!retain) {
      vt_ag_node* list = NULL;
      vt_ag_node_strip(n, &list); /* list stays empty: every node is retained in `all` */
      n->released = 1;
      if (n->op == VT_AG_CUSTOM) {
        vt_ag_custom_freed(n->custom_id);
        n->op = VT_AG_CUSTOM + 1; /* its Lua context is gone: report it once */
      }
    }
  }
  vt_tensor_release(g0);
  for (int64_t k = 0; k < all.n; k++) {
    vt_ag_node* n = all.p[k];
    for (int o = 0; o < n->nout; o++) {
      vt_tensor_release(n->gbuf[o]);
      n->gbuf[o] = NULL;
    }
  }
  for (int64_t k = 0; k < all.n; k++) vt_ag_node_release(all.p[k]);
  vt_ag_vec_free(&all);
  vt_ag_vec_free(&stack);
  vt_ag_mode = mode;
  return s;
}
