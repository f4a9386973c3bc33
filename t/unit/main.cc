// The CppUnit runner: every *_test.cc registers its suite with
// CPPUNIT_TEST_SUITE_REGISTRATION; this runs them all (or those named on the
// command line) and exits non-zero on any failure. Run from the repo root.
#include <cppunit/BriefTestProgressListener.h>
#include <cppunit/CompilerOutputter.h>
#include <cppunit/TestResult.h>
#include <cppunit/TestResultCollector.h>
#include <cppunit/TestRunner.h>
#include <cppunit/extensions/TestFactoryRegistry.h>

#include <iostream>

int main(int argc, char** argv)
{
    CppUnit::TestResult controller;
    CppUnit::TestResultCollector collected;
    controller.addListener(&collected);
    CppUnit::BriefTestProgressListener progress;
    if (argc > 1 && std::string(argv[1]) == "-v") {
        controller.addListener(&progress);
        --argc, ++argv;
    }
    CppUnit::TestRunner runner;
    runner.addTest(CppUnit::TestFactoryRegistry::getRegistry().makeTest());
    try {
        runner.run(controller, argc > 1 ? argv[1] : "");
    } catch (const std::invalid_argument& e) {
        std::cerr << "no such test: " << e.what() << "\n";
        return 2;
    }
    CppUnit::CompilerOutputter out(&collected, std::cout);
    out.write();
    std::cout << std::endl;
    int failed = collected.testFailuresTotal();
    int run = collected.runTests();
    std::cout << (run - failed) << " passed, " << failed << " failed\n";
    return collected.wasSuccessful() ? 0 : 1;
}
