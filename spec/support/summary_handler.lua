-- busted output handler: the usual terminal output, then the closing line
-- "N passed, N failed, N skipped" that CI reads. Errors count as failures.
return function(options)
  local busted = require "busted"
  local terminal = os.getenv("TERM") and "busted.outputHandlers.utfTerminal"
                   or "busted.outputHandlers.plainTerminal"
  local handler = require(terminal)(options)

  busted.subscribe({ "suite", "end" }, function()
    io.write(string.format("\n%d passed, %d failed, %d skipped\n",
      handler.successesCount, handler.failuresCount + handler.errorsCount,
      handler.pendingsCount))
    io.flush()
    return nil, true
  end)

  return handler
end
