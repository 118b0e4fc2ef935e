/* op_list.h — THE list of Volt's operations (an X-macro; the only place an op is declared).
 *
 * VT_OP(name, KIND)
 *   name: the op's name as Lua and the op spec know it; the id is VT_OP_<name>.
 *   KIND: how the front-end calls the kernel (what vt_op_args carries), one of
 *     UNARY      in[0]=x (expanded to out's shape)                  out[0]=y
 *     BINARY     in[0]=a, in[1]=b (both expanded to out's shape)    out[0]=y
 *     WHERE      in[0]=cond, in[1]=a, in[2]=b (expanded)            out[0]=y
 *     CLAMP      in[0]=x, f[0]=lo, f[1]=hi (±inf when absent)       out[0]=y
 *     LERP       in[0]=a, in[1]=b, in[2]=w (all expanded)           out[0]=y
 *     FILL       f[0]=value                                         out[0]=y
 *     COPY       in[0]=src (expanded, any dtype/device)             out[0]=dst
 *     REDUCE     in[0]=x, i[0]=bitmask of reduced dims, f[0]=param  out[0]=y (keepdim shape)
 *     REDUCE_IDX in[0]=x, i[0]=dim, i[1]=index base                 out[0]=values|NULL, out[1]=indices
 *     SOFTMAX    in[0]=x, i[0]=dim                                  out[0]=y
 *     SCAN       in[0]=x, i[0]=dim                                  out[0]=y
 *     MATMUL     in[0]=a (B..,M,K), in[1]=b (B..,K,N)               out[0]=y (B..,M,N)
 *     INDEX      see index.c for each op's use of in/out/i/f
 *     RANDOM     ptr=vt_generator*, f[]=parameters, in[0]=optional  out[0]=y
 *     NN         a layer-level op; its family's front-end (conv.c, pool.c, norm.c, fused.c)
 *                documents in/out/i/f for each op
 *
 * Adding an op: one line here, a CPU kernel registered in backend/cpu, a CUDA kernel when the
 * CUDA backend grows, and an entry in the op spec table (spec/ops_spec.lua). The spec
 * "every op has a CPU kernel" fails until the CPU kernel exists.
 */

/* unary, elementwise ---------------------------------------------------------------------- */
VT_OP(neg, UNARY)
VT_OP(abs, UNARY)
VT_OP(sign, UNARY)
VT_OP(exp, UNARY)
VT_OP(log, UNARY)
VT_OP(log1p, UNARY)
VT_OP(sqrt, UNARY)
VT_OP(rsqrt, UNARY)
VT_OP(sin, UNARY)
VT_OP(cos, UNARY)
VT_OP(tanh, UNARY)
VT_OP(sigmoid, UNARY)
VT_OP(relu, UNARY)
VT_OP(gelu, UNARY)
VT_OP(gelu_tanh, UNARY)
VT_OP(silu, UNARY)
VT_OP(square, UNARY)
VT_OP(reciprocal, UNARY)
VT_OP(logical_not, UNARY)
/* binary, elementwise with broadcasting ----------------------------------------------------- */
VT_OP(add, BINARY)
VT_OP(sub, BINARY)
VT_OP(mul, BINARY)
VT_OP(div, BINARY)
VT_OP(pow, BINARY)
VT_OP(maximum, BINARY)
VT_OP(minimum, BINARY)
VT_OP(eq, BINARY)
VT_OP(ne, BINARY)
VT_OP(lt, BINARY)
VT_OP(le, BINARY)
VT_OP(gt, BINARY)
VT_OP(ge, BINARY)
VT_OP(logical_and, BINARY)
VT_OP(logical_or, BINARY)
/* relu's backward kernel: in[0] = g, in[1] = y = relu(x); y <= 0 ? 0 : g (PyTorch's
   threshold_backward). Not differentiable (the relu cases of the gradcheck cover it). */
VT_OP(relu_backward, BINARY)
/* other elementwise ------------------------------------------------------------------------- */
VT_OP(where, WHERE)
VT_OP(clamp, CLAMP)
VT_OP(lerp, LERP)
VT_OP(fill, FILL)
VT_OP(copy, COPY)
/* reductions ------------------------------------------------------------------------------- */
VT_OP(sum, REDUCE)
VT_OP(mean, REDUCE)
VT_OP(prod, REDUCE)
VT_OP(amax, REDUCE)
VT_OP(amin, REDUCE)
VT_OP(var, REDUCE)
VT_OP(std, REDUCE)
VT_OP(logsumexp, REDUCE)
VT_OP(norm, REDUCE)
VT_OP(all, REDUCE)
VT_OP(any, REDUCE)
VT_OP(max, REDUCE_IDX)
VT_OP(min, REDUCE_IDX)
VT_OP(argmax, REDUCE_IDX)
VT_OP(argmin, REDUCE_IDX)
VT_OP(softmax, SOFTMAX)
VT_OP(log_softmax, SOFTMAX)
VT_OP(cumsum, SCAN)
/* linear algebra --------------------------------------------------------------------------- */
VT_OP(matmul, MATMUL)
/* indexing --------------------------------------------------------------------------------- */
VT_OP(index_select, INDEX)
VT_OP(gather, INDEX)
VT_OP(scatter, INDEX)
VT_OP(scatter_add, INDEX)
VT_OP(index_add, INDEX)
VT_OP(masked_fill, INDEX)
VT_OP(cat, INDEX)
VT_OP(one_hot, INDEX)
VT_OP(tril, INDEX)
VT_OP(triu, INDEX)
/* random ----------------------------------------------------------------------------------- */
VT_OP(uniform, RANDOM)
VT_OP(normal, RANDOM)
VT_OP(randint, RANDOM)
VT_OP(bernoulli, RANDOM)
VT_OP(randperm, RANDOM)
/* convolution (ops/conv.c, backend/cpu/cpu_conv.c) ----------------------------------------- */
VT_OP(conv2d, NN)
VT_OP(conv_transpose2d, NN)

/* pooling (ops/pool.c, backend/cpu/cpu_pool.c) ---------------------------------------------- */
VT_OP(max_pool2d, NN)
VT_OP(avg_pool2d, NN)
VT_OP(adaptive_avg_pool2d, NN)
VT_OP(max_pool2d_backward, NN)
VT_OP(avg_pool2d_backward, NN)
VT_OP(adaptive_avg_pool2d_backward, NN)

/* normalisation (ops/norm.c, backend/cpu/cpu_norm.c) --------------------------------------- */
VT_OP(layer_norm, NN)
VT_OP(layer_norm_backward, NN)
VT_OP(batch_norm, NN)
VT_OP(batch_norm_backward, NN)
VT_OP(group_norm, NN)
VT_OP(group_norm_backward, NN)

/* fused layers and losses (ops/fused.c, backend/cpu/cpu_fused.c) ---------------------------- */
VT_OP(linear, NN)
VT_OP(cross_entropy, NN)
VT_OP(cross_entropy_backward, NN)
VT_OP(sdpa, NN)
VT_OP(sdpa_backward, NN)
VT_OP(sdpa_qkv, NN)
VT_OP(sdpa_qkv_backward, NN)
VT_OP(gelu_backward, NN)

/* end of the op list ------------------------------------------------------------------------ */
