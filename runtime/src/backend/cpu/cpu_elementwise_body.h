/* cpu_elementwise_body.h — elementwise kernel bodies for one compute type. Included by
 * cpu_elementwise.c once per compute type with:
 *   CT      the C type (float, double, int64_t)      CT_DT  its dtype
 *   SUF     f32 | f64 | i64 (via EW_NAME)             IS_FLOAT 1 for float types
 *   M_EXP, M_LOG, ... the math functions for CT (float types only)
 * Bodies work on contiguous buffers of m elements; they may alias (y == x0 in place).
 */
#define EW_U(expr) for (int64_t i = 0; i < m; i++) { CT v = x0[i]; y[i] = (expr); } break
#define EW_B(expr) for (int64_t i = 0; i < m; i++) { CT u = x0[i], v = x1[i]; y[i] = (expr); } break
/* Integer + - * and negation wrap (two's complement): computed in uint64_t, since signed
   overflow is undefined in C. For float types these are the plain operations. */
#if IS_FLOAT
#define EW_ADD(a, b) ((a) + (b))
#define EW_SUB(a, b) ((a) - (b))
#define EW_MUL(a, b) ((a) * (b))
#define EW_NEG(a) (-(a))
#else
#define EW_ADD(a, b) ((CT)((uint64_t)(a) + (uint64_t)(b)))
#define EW_SUB(a, b) ((CT)((uint64_t)(a) - (uint64_t)(b)))
#define EW_MUL(a, b) ((CT)((uint64_t)(a) * (uint64_t)(b)))
#define EW_NEG(a) ((CT)(0 - (uint64_t)(a)))
#endif

VT_CPU_CLONES static void EW_NAME(ew_compute)(int op, const double* f, CT* y, CT* const* x, int64_t m) {
  const CT* x0 = x[0];
  const CT* x1 = x[1];
  const CT* x2 = x[2];
  switch (op) {
    /* unary */
    case VT_OP_neg: EW_U(EW_NEG(v));
    case VT_OP_abs: EW_U(v < 0 ? EW_NEG(v) : (v == 0 ? (CT)0 : v)); /* abs(-0.0) = +0.0 */
    case VT_OP_sign: EW_U((CT)((v > 0) - (v < 0)) + (v != v ? v : 0));
    case VT_OP_square: EW_U(EW_MUL(v, v));
    case VT_OP_relu: EW_U(v < 0 ? 0 : v);
    case VT_OP_logical_not: EW_U((CT)(v == 0));
#if IS_FLOAT
    case VT_OP_exp: EW_U(M_EXP(v));
    case VT_OP_log: EW_U(M_LOG(v));
    case VT_OP_log1p: EW_U(M_LOG1P(v));
    case VT_OP_sqrt: EW_U(M_SQRT(v));
    case VT_OP_rsqrt: EW_U((CT)1 / M_SQRT(v));
    case VT_OP_sin: EW_U(M_SIN(v));
    case VT_OP_cos: EW_U(M_COS(v));
    case VT_OP_tanh: EW_U(M_TANH(v));
    case VT_OP_sigmoid: EW_U((CT)1 / ((CT)1 + M_EXP(-v)));
    case VT_OP_gelu: EW_U((CT)0.5 * v * ((CT)1 + M_ERF(v * (CT)0.70710678118654752440)));
    case VT_OP_gelu_tanh:
      EW_U((CT)0.5 * v * ((CT)1 + M_TANH((CT)0.79788456080286535588 * (v + (CT)0.044715 * v * v * v))));
    case VT_OP_silu: EW_U(v / ((CT)1 + M_EXP(-v)));
    case VT_OP_reciprocal: EW_U((CT)1 / v);
    case VT_OP_div: EW_B(u / v);
    case VT_OP_pow: EW_B(M_POW(u, v));
    case VT_OP_lerp:
      for (int64_t i = 0; i < m; i++) {
        CT a = x0[i], b = x1[i], w = x2[i];
        /* exact at both ends, as PyTorch: a + w*(b-a) for w < 0.5, b - (b-a)*(1-w) otherwise */
        y[i] = (w < (CT)0.5 || w != w) ? a + w * (b - a) : b - (b - a) * ((CT)1 - w);
      }
      break;
#else
    case VT_OP_pow:
      for (int64_t i = 0; i < m; i++) {
        int64_t b = x0[i], e = x1[i], r = 1;
        if (e < 0) {
          r = b == 1 ? 1 : b == -1 ? ((e & 1) ? -1 : 1) : 0;
        } else {
          uint64_t ub = (uint64_t)b, ur = 1;
          while (e) {
            if (e & 1) ur *= ub;
            ub *= ub;
            e >>= 1;
          }
          r = (int64_t)ur;
        }
        y[i] = r;
      }
      break;
#endif
    /* binary */
    case VT_OP_add: EW_B(EW_ADD(u, v));
    case VT_OP_sub: EW_B(EW_SUB(u, v));
    case VT_OP_mul: EW_B(EW_MUL(u, v));
    case VT_OP_maximum: EW_B((u != u || u > v) ? u : v);
    case VT_OP_minimum: EW_B((u != u || u < v) ? u : v);
    case VT_OP_eq: EW_B((CT)(u == v));
    case VT_OP_ne: EW_B((CT)(u != v));
    case VT_OP_lt: EW_B((CT)(u < v));
    case VT_OP_le: EW_B((CT)(u <= v));
    case VT_OP_gt: EW_B((CT)(u > v));
    case VT_OP_ge: EW_B((CT)(u >= v));
    case VT_OP_logical_and: EW_B((CT)(u != 0 && v != 0));
    case VT_OP_logical_or: EW_B((CT)(u != 0 || v != 0));
    case VT_OP_relu_backward: EW_B(v <= 0 ? (CT)0 : u); /* u = g, v = relu(x) */
    /* others */
    case VT_OP_where:
      for (int64_t i = 0; i < m; i++) y[i] = x0[i] != 0 ? x1[i] : x2[i];
      break;
    case VT_OP_clamp: {
#if IS_FLOAT
      CT lo = (CT)f[0], hi = (CT)f[1];
#else
      /* bounds saturate to the i64 range (a cast of an out-of-range double is undefined) */
      CT lo = f[0] <= -0x1p63 ? INT64_MIN : f[0] >= 0x1p63 ? INT64_MAX : (CT)f[0];
      CT hi = f[1] <= -0x1p63 ? INT64_MIN : f[1] >= 0x1p63 ? INT64_MAX : (CT)f[1];
#endif
      EW_U(v != v ? v : (v < lo ? lo : (v > hi ? hi : v)));
    }
    default: VT_ASSERT(!"elementwise op without a body for this compute type");
  }
}

/* Runs the op over one strided run: p[0] is the output, p[1..nin] the inputs. */
static void EW_NAME(ew_run)(const ew_ctx* c, char** p, const int64_t* st, int64_t n) {
  CT buf[4][VT_CPU_CHUNK];
  for (int64_t o = 0; o < n; o += VT_CPU_CHUNK) {
    int64_t m = n - o < VT_CPU_CHUNK ? n - o : VT_CPU_CHUNK;
    CT* in[3] = {NULL, NULL, NULL};
    for (int j = 1; j <= c->nin; j++) {
      char* src = p[j] + o * st[j];
      if (c->dt[j] == CT_DT && st[j] == (int64_t)sizeof(CT)) {
        in[j - 1] = (CT*)src;
      } else {
        EW_NAME(vt_cpu_load)(buf[j], src, st[j], c->dt[j], m);
        in[j - 1] = buf[j];
      }
    }
    char* dst = p[0] + o * st[0];
    int native = c->dt[0] == CT_DT && st[0] == (int64_t)sizeof(CT);
    CT* y = native ? (CT*)dst : buf[0];
    EW_NAME(ew_compute)(c->op, c->f, y, in, m);
    if (!native) EW_NAME(vt_cpu_store)(dst, st[0], c->dt[0], y, m);
  }
}

#undef EW_U
#undef EW_B
#undef EW_ADD
#undef EW_SUB
#undef EW_MUL
#undef EW_NEG
