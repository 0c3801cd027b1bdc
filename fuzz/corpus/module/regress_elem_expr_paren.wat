(module (elem funcref (foo)))
