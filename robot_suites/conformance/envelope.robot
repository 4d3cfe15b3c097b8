*** Settings ***
Documentation     Topic, properties and envelope of the security messages (spec §2.1, §2.3, §1.2).
Resource          conformance.resource
Test Tags         conformance

*** Test Cases ***
Security Messages Use The Hub Topic And Properties
    [Tags]    spec:2.1
    ${msg}=    Start Conformance Device
    Should Be Equal    ${msg}[topic]    ${SECMOD_TOPIC}
    ${names}=    Get Dictionary Keys    ${msg}[properties]    sort_keys=False
    Should Be Equal    ${names}    ${{ ['mti', '$.ifid'] }}    the property bag must be mti then $.ifid, nothing else
    Should Be Equal    ${msg}[properties][mti]    2.3-1-0-0
    Should Be Equal    ${msg}[properties][$.ifid]    urn:azureiot:Security:SecurityAgent:1
    Should Be Equal As Integers    ${msg}[qos]    1

Envelope Identifies The Module
    [Tags]    spec:2.3
    ${msg}=    Start Conformance Device
    Should Be Equal    ${msg}[security_module_id]    defender-iot-micro-agent
    Should Be Equal    ${msg}[version]    ${{ [3, 5, 4] }}
    Should Be Equal As Integers    ${msg}[version_raw]    ${0x03050004}
    Should Be Equal As Integers    ${msg}[timezone]    0
    Security Messages Should Conform    ${DEVICE_ID}

SystemInformation Carries Only The OS And Heartbeat Is Empty
    [Tags]    spec:1.2
    ${msg}=    Start Conformance Device
    ${types}=    Event Types    ${msg}
    List Should Contain Value    ${types}    SYSTEM_INFORMATION
    List Should Contain Value    ${types}    HEARTBEAT
    FOR    ${event}    IN    @{msg}[events]
        IF    '${event}[payload_type]' == 'SYSTEM_INFORMATION'
            Should Match Regexp    ${event}[payload][os_info]    ^Azure RTOS \\d+\\.\\d+$
            Should Be Equal    ${event}[payload][kernel_info]    ${None}
            Should Be Equal    ${event}[payload][hw_info]    ${None}
        ELSE IF    '${event}[payload_type]' == 'HEARTBEAT'
            Should Be Empty    ${event}[payload]
        END
    END

Event Ids Are Unique Within A Boot
    [Tags]    spec:2.3
    Start Conformance Device
    Wait For Security Message    ${DEVICE_ID}    count=3    timeout=40
    ${messages}=    Security Messages    ${DEVICE_ID}
    ${ids}=    Evaluate    [e['id'] for m in $messages for e in m['events']]
    List Should Not Contain Duplicates    ${ids}
    Security Messages Should Conform    ${DEVICE_ID}    minimum=3
