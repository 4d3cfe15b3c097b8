*** Settings ***
Documentation     The reference firmware boots on every supported board under the harness:
...               banner, shell, uptime, reset, a deliberate HardFault caught as a failure,
...               and an exit code handed to the host through semihosting.
Library           harness.robot.Testbed
Library           String
Test Tags         boot

*** Variables ***
${PROFILE}        fast

*** Test Cases ***
Banner Names Board Version And Build
    [Template]    Banner Names The Board
    mps2-an385    cortex-m3
    mps2-an386    cortex-m4
    mps2-an500    cortex-m7

Shell Commands Answer
    [Template]    Shell Commands Answer On
    mps2-an385
    mps2-an386
    mps2-an500

Uptime Grows
    [Template]    Uptime Grows On
    mps2-an385
    mps2-an386
    mps2-an500

Reset Reboots The Device
    [Template]    Reset Reboots On
    mps2-an385
    mps2-an386
    mps2-an500

Deliberate Fault Is Caught With The Banner
    [Template]    Fault Is Caught On
    mps2-an385
    mps2-an386
    mps2-an500

Exit Code Comes From Semihosting
    [Template]    Exit Code Is Passed On
    mps2-an385
    mps2-an386
    mps2-an500

*** Keywords ***
Boot
    [Arguments]    ${board}
    Start Device    name=${board}    board=${board}    profile=${PROFILE}    wait_for_prompt=False
    ${banner}=    Wait For Line On Uart    refdev boot:    timeout=10
    Wait For Prompt On Uart
    RETURN    ${banner}

Banner Names The Board
    [Arguments]    ${board}    ${cpu}
    ${banner}=    Boot    ${board}
    Should Match Regexp    ${banner}    board=${board} cpu=${cpu} version=\\d+\\.\\d+\\.\\d+ build=[0-9a-f]{12} profile=${PROFILE}
    [Teardown]    Stop Device    ${board}

Shell Commands Answer On
    [Arguments]    ${board}
    Boot    ${board}
    ${help}=    Execute Command On Device    help
    FOR    ${cmd}    IN    help    version    uptime    reboot    fault    exit
        Should Contain    ${help}    ${cmd}
    END
    ${version}=    Execute Command On Device    version
    Should Match Regexp    ${version}    ^refdev \\d+\\.\\d+\\.\\d+ build [0-9a-f]{12} board ${board}
    ${out}=    Execute Command On Device    no-such-command
    Should Contain    ${out}    unknown command
    [Teardown]    Stop Device    ${board}

Uptime Grows On
    [Arguments]    ${board}
    Boot    ${board}
    ${first}=    Uptime Seconds
    Sleep    1.5s
    ${second}=    Uptime Seconds
    ${delta}=    Evaluate    ${second} - ${first}
    # generous bounds: the guest clock must advance and not run away from the host clock
    Should Be True    1.0 <= ${delta} <= 6.0    uptime advanced ${delta} s in 1.5 s of host time
    [Teardown]    Stop Device    ${board}

Uptime Seconds
    ${out}=    Execute Command On Device    uptime
    ${value}=    Get Regexp Matches    ${out}    uptime: ([0-9.]+) s    1
    RETURN    ${value}[0]

Reset Reboots On
    [Arguments]    ${board}
    Boot    ${board}
    Sleep    1s
    ${before}=    Uptime Seconds
    Reset Device
    Wait For Line On Uart    refdev boot:    timeout=10
    Wait For Prompt On Uart
    ${after}=    Uptime Seconds
    Should Be True    ${after} < ${before}    uptime after reset (${after}) is not below uptime before (${before})
    Write Line To Uart    reboot
    Wait For Line On Uart    refdev boot:    timeout=10
    Wait For Prompt On Uart
    [Teardown]    Stop Device    ${board}

Fault Is Caught On
    [Arguments]    ${board}
    Boot    ${board}
    Run Keyword And Expect Error    *failing string on the console*fault_trigger_undefined_instruction*HARDFAULT*PC=0x*CFSR=0x*
    ...    Execute Command On Device    fault
    [Teardown]    Stop Device    ${board}

Exit Code Is Passed On
    [Arguments]    ${board}
    Boot    ${board}
    Write Line To Uart    exit 3
    ${code}=    Wait For Device Exit    timeout=10
    Should Be Equal As Integers    ${code}    3
    [Teardown]    Stop Device    ${board}
