-- summary_output.lua — Busted output handler: Busted's plain terminal output, then one closing
-- line that CI reads: "N passed, N failed" (errors count as failed) plus ", N skipped" for
-- pending tests. Use: busted -o spec/helpers/summary_output.lua
return function(options)
  local busted = require 'busted'
  local inner = require('busted.outputHandlers.plainTerminal')(options)
  busted.subscribe({'suite', 'end'}, function()
    local failed = (inner.failuresCount or 0) + (inner.errorsCount or 0)
    local line = string.format('%d passed, %d failed', inner.successesCount or 0, failed)
    if (inner.pendingsCount or 0) > 0 then
      line = line .. string.format(', %d skipped', inner.pendingsCount)
    end
    io.write('\n' .. line .. '\n')
    io.flush()
    return nil, true
  end)
  return inner
end
