(module (elem funcref (ref.null func) (ref.extern 1)))
