-- adamw.lua — AdamW (Loshchilov & Hutter): Adam with decoupled weight decay
-- (p <- p * (1 - lr * weight_decay) before the Adam update; default weight_decay 1e-2), as
-- PyTorch's torch.optim.AdamW. Same options and state as Adam (adam.lua); one fused C call per
-- parameter group (vt_optim_adam with decoupled = 1).
--
--   local opt = volt.optim.AdamW(model:parameters(), {lr = 3e-4, weight_decay = 0.1})
return require('volt.optim.adam')._make('AdamW', true, 1e-2)
