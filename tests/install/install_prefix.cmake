# Installs the build tree into a fresh scratch prefix (the fixture the consumer
# tests share): nothing left over from an earlier configuration can be found.
file(REMOVE_RECURSE ${PREFIX})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX}
                COMMAND_ERROR_IS_FATAL ANY OUTPUT_QUIET)
