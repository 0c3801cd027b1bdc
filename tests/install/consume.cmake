# Configures, builds and runs a project that uses the installed package with
# find_package(warmpool CONFIG), the way a downstream project would.
#   PREFIX, CONSUMER_DIR, WORK_DIR, GENERATOR, CXX, BUILD_TYPE  where and how
#   PROGRAM             the consumer's executable
#   LAUNCHER, SANITIZE  the build's compiler launcher and sanitizers
#   ARGS                further -D options for the consumer (a list)
#   EXPECT_OUTPUT       regex the program's output must match
#   EXPECT_FAILURE      instead: configuration must fail with this regex
#   FORBID_CACHE        regex that must not occur in the consumer's CMakeCache.txt
file(REMOVE_RECURSE ${WORK_DIR})
set(options -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${PREFIX}
            -DCMAKE_BUILD_TYPE=${BUILD_TYPE} ${ARGS})
if(LAUNCHER)
  list(APPEND options -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
if(SANITIZE)
  # The installed static libraries are instrumented: build the consumer the
  # way cmake/WarmpoolOptions.cmake builds warmpool, runtimes included.
  set(flags "-fsanitize=${SANITIZE} -fno-omit-frame-pointer")
  if(SANITIZE MATCHES "undefined")
    string(APPEND flags " -fno-sanitize-recover=undefined -fno-sanitize=vptr")
  endif()
  list(APPEND options "-DCMAKE_CXX_FLAGS=${flags}"
                      "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=${SANITIZE}")
endif()

execute_process(COMMAND ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR} -G ${GENERATOR} ${options}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(DEFINED EXPECT_FAILURE)
  if(rc EQUAL 0)
    message(FATAL_ERROR "configuring ${CONSUMER_DIR} succeeded, expected a failure:\n${out}")
  endif()
  if(NOT out MATCHES "${EXPECT_FAILURE}")
    message(FATAL_ERROR "configuration failed without the expected message '${EXPECT_FAILURE}':\n${out}")
  endif()
  return()
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring ${CONSUMER_DIR} failed:\n${out}")
endif()
if(DEFINED FORBID_CACHE)
  file(STRINGS ${WORK_DIR}/CMakeCache.txt forbidden REGEX "${FORBID_CACHE}")
  if(forbidden)
    message(FATAL_ERROR "the consumer's configuration looked for what it must not need:\n${forbidden}")
  endif()
endif()

execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR} RESULT_VARIABLE rc
                OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building ${CONSUMER_DIR} failed:\n${out}")
endif()
set(program ${WORK_DIR}/${PROGRAM})
execute_process(COMMAND ${program} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "${EXPECT_OUTPUT}")
  message(FATAL_ERROR "${program} exited with ${rc}; output:\n${out}${err}\nexpected: ${EXPECT_OUTPUT}")
endif()
