*** Settings ***
Documentation     Reproduce device issues: a networked run (device, lab hub, traffic) is recorded with
...               QEMU record/replay, saved as one bundle, and replayed without the lab: the console
...               is byte-identical and the security messages re-extracted from the replayed device's
...               frames (or, over TLS, from the plaintext it hands its TLS library) are the ones the
...               hub recorded. A run that ends in a HardFault replays to the
...               same PC and source line. See docs/reproduce.md.
Library           harness.robot.Testbed
Library           Collections
Test Tags         replay

*** Variables ***
${PROFILE}        fast

*** Test Cases ***
Networked Run Replays Byte-Identically Without The Lab
    Privileged Lab Should Be Available
    Start Lab
    Start Device In Lab    dev-r    profile=${PROFILE}    record=True
    Wait For Device Network    dev-r
    Wait For Hub Message    d2c    device=dev-r    security=True    count=2    timeout=40
    Ping Device From Lab    dev-r    count=2
    Ping From Device    192.0.2.1    count=2
    Execute Command On Device    net
    ${bundle}=    Save Device Bundle    dev-r    archive=True
    Stop Lab
    # the replay runs with no lab, broker or traffic: only the bundle
    ${result}=    Replay Bundle    ${bundle}
    Replayed Console Should Match
    ${n}=    Replayed Security Messages Should Match Hub Recording
    Should Be True    ${n} >= 2
    ${messages}=    Replayed Security Messages
    ${first}=    Get From List    ${messages}    0
    Should Not Be Empty    ${first}[message][events]
    Should Be Equal    ${first}[properties][$.ifid]    urn:azureiot:Security:SecurityAgent:1

Run Over TLS Replays And Its Security Messages Come Out Of The TLS Library
    [Documentation]    MQTT over TLS with a SAS token: the pcap holds only ciphertext, so the replay
    ...                reads the plaintext the replayed firmware hands mbedtls_ssl_write (a gdb
    ...                breakpoint, which leaves the replay byte-identical).
    Privileged Lab Should Be Available
    Start Lab
    Start Device In Lab    dev-rt    profile=${PROFILE}    record=True    transport=mqtts    auth=sas
    Wait For Device Network    dev-rt
    Wait For Hub Message    d2c    device=dev-rt    security=True    count=2    timeout=60
    ${bundle}=    Save Device Bundle    dev-rt
    Stop Lab
    ${result}=    Replay Bundle    ${bundle}
    Replayed Console Should Match
    ${n}=    Replayed Security Messages Should Match Hub Recording
    Should Be True    ${n} >= 2
    Should Contain Match    ${result}[notes]    *plaintext*mbedtls_ssl_write*

HardFault Replays At The Same PC And Source Line
    Start Device    dev-f    profile=${PROFILE}    record=True
    Run Keyword And Expect Error    *failing string on the console*HARDFAULT*
    ...    Execute Command On Device    fault
    ${bundle}=    Save Device Bundle    dev-f
    ${recorded}=    Fault PC Of Bundle    ${bundle}
    Should Be Equal    ${recorded}[function]    fault_trigger_undefined_instruction
    Should Match Regexp    ${recorded}[file]    cmds_sys\\.c$
    Replay Bundle    ${bundle}
    Replayed Console Should Match
    ${replayed}=    Fault PC Of Replay
    Should Be Equal    ${replayed}[pc]    ${recorded}[pc]
    Should Be Equal    ${replayed}[where]    ${recorded}[where]
