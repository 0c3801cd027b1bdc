(module
  (func $start (loop $l (br $l)))
  (start $start))
