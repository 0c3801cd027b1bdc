include(CMakePackageConfigHelpers)

install(DIRECTORY include/warmpool DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS warmpool_core EXPORT warmpoolTargets)
install(EXPORT warmpoolTargets NAMESPACE warmpool:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/warmpool)

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/warmpoolConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/warmpoolConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/warmpool)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/warmpoolConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/warmpoolConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/warmpoolConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/warmpool)
