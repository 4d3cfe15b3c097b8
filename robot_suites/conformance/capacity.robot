*** Settings ***
Documentation     Record capacity: 64 IPv4 and 64 IPv6 records per window; flows beyond are dropped
...               for that window and do not spill into the next one (spec §1.4).
Resource          conformance.resource
Test Tags         conformance    spec:1.4

*** Test Cases ***
More Than 64 IPv4 Flows In A Window Give Exactly 64 Records
    Capacity Is Enforced    ipv6=False    sport_base=41000

More Than 64 IPv6 Flows In A Window Give Exactly 64 Records
    Capacity Is Enforced    ipv6=True    sport_base=42000

*** Keywords ***
Capacity Is Enforced
    [Arguments]    ${ipv6}    ${sport_base}
    Start Conformance Device
    ${family}=    Set Variable If    ${ipv6}    ipv6    ipv4
    Wait For Window Start
    ${mark}=    Hub Mark
    Send Traffic    udp_flows    peer1    ${DEVICE_ID}    ipv6=${ipv6}    dport=7    flows=100    sport_base=${sport_base}
    ${burst}=    Wait For Security Message    ${DEVICE_ID}    since=${mark}    timeout=20
    ${after}=    Hub Mark
    ${next}=    Wait For Security Message    ${DEVICE_ID}    since=${after}    timeout=20
    ${records}=    Evaluate    [r for e in $burst['events'] if e['payload_type'] == 'NETWORK_ACTIVITY' for r in e['payload']['${family}']]
    Length Should Be    ${records}    64    a window with more than 64 ${family} flows carries exactly 64 records
    ${burst_ports}=    Evaluate    [r['remote_port'] for r in $records if ${sport_base} <= r['remote_port'] < ${sport_base} + 100]
    Should Not Be Empty    ${burst_ports}
    ${spilled}=    Evaluate    [r for e in $next['events'] if e['payload_type'] == 'NETWORK_ACTIVITY' for r in e['payload']['${family}'] if ${sport_base} <= r['remote_port'] < ${sport_base} + 100]
    Should Be Empty    ${spilled}    dropped flows must not be carried into the next window
    Security Messages Should Conform    ${DEVICE_ID}
