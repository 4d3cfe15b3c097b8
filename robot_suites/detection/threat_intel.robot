*** Settings ***
Documentation     "Communication with a suspicious IP address detected" for every protocol, IP
...               version and direction, within one collection interval plus a bound; benign
...               traffic in the same run raises nothing.
Resource          detection.resource
Test Teardown     Report Evidence
Test Tags         detection    threat-intelligence

*** Test Cases ***
# one test per protocol x IP version x direction: each runs in its own lab, so pabot spreads them
Inbound TCP Over IPv4 From A Feed Host Is Detected
    [Tags]    inbound    ipv4    tcp
    Inbound Traffic Raises A Threat Alert    tcp    False    in-tcp4

Inbound TCP Over IPv6 From A Feed Host Is Detected
    [Tags]    inbound    ipv6    tcp
    Inbound Traffic Raises A Threat Alert    tcp    True    in-tcp6

Inbound UDP Over IPv4 From A Feed Host Is Detected
    [Tags]    inbound    ipv4    udp
    Inbound Traffic Raises A Threat Alert    udp    False    in-udp4

Inbound UDP Over IPv6 From A Feed Host Is Detected
    [Tags]    inbound    ipv6    udp
    Inbound Traffic Raises A Threat Alert    udp    True    in-udp6

Inbound ICMP Echo Over IPv4 From A Feed Host Is Detected
    [Tags]    inbound    ipv4    icmp
    Inbound Traffic Raises A Threat Alert    ping    False    in-icmp4

Inbound ICMPv6 Echo From A Feed Host Is Detected
    [Tags]    inbound    ipv6    icmpv6
    Inbound Traffic Raises A Threat Alert    ping    True    in-icmp6

Outbound TCP Over IPv4 To A C2 Host Is Detected
    [Tags]    outbound    ipv4    tcp
    Outbound Traffic Raises A Threat Alert    tcp connect {c2} 4444    False

Outbound TCP Over IPv6 To A C2 Host Is Detected
    [Tags]    outbound    ipv6    tcp
    Outbound Traffic Raises A Threat Alert    tcp connect {c2} 443    True

Outbound UDP Over IPv4 To A C2 Host Is Detected
    [Tags]    outbound    ipv4    udp
    Outbound Traffic Raises A Threat Alert    udp send {c2} 9999 beacon 2    False

Outbound UDP Over IPv6 To A C2 Host Is Detected
    [Tags]    outbound    ipv6    udp
    Outbound Traffic Raises A Threat Alert    udp send {c2} 9999 beacon 2    True

Outbound ICMP Echo Over IPv4 To A C2 Host Is Detected
    [Tags]    outbound    ipv4    icmp
    Outbound Traffic Raises A Threat Alert    ping {c2} 2    False

Outbound ICMPv6 Echo To A C2 Host Is Detected
    [Tags]    outbound    ipv6    icmpv6
    Outbound Traffic Raises A Threat Alert    ping6 {c2} 2    True

Benign Traffic Raises No Alert
    [Tags]    benign
    Start Detection Lab
    Run Traffic Profile    benign    device=${DEVICE_ID}
    Wait For Security Message    ${DEVICE_ID}    count=2    timeout=30
    No Alert Should Be Raised    type=${TI}    period=5
    No Alert Should Be Raised    period=0

Malicious Profile Alerts Only On Malicious Peers
    [Documentation]    Scans, a credential-guessing burst and a SYN flood from a feed host, with benign
    ...    traffic interleaved: alerts name the attacker and never a benign peer.
    Start Detection Lab
    Run Traffic Profile    benign    device=${DEVICE_ID}
    Run Traffic Profile    malicious-inbound    device=${DEVICE_ID}
    ${attacker}=    Lab Host Address    attacker1
    Wait For Alert    ${TI}    device=${DEVICE_ID}    peer=${attacker}    timeout=${ALERT_BOUND}
    Wait For Security Message    ${DEVICE_ID}    count=2    timeout=30
    No Threat Alert For The Benign Side

A Replayed Capture From A Feed Host Is Detected
    [Documentation]    A capture replayed at the device with its addresses and MACs rewritten into the lab.
    Start Detection Lab
    ${dir}=    Lab Artifacts Directory
    ${pcap}=    Write Synthetic Capture    ${dir}/capture.pcap
    ${result}=    Send Traffic    pcap_replay    attacker1    ${DEVICE_ID}    pcap=${pcap}
    Should Be Equal As Integers    ${result}[sent]    6
    ${attacker}=    Lab Host Address    attacker1
    Wait For Alert    ${TI}    device=${DEVICE_ID}    peer=${attacker}    timeout=${ALERT_BOUND}
    No Threat Alert For The Benign Side

*** Keywords ***
Inbound Traffic Raises A Threat Alert
    [Documentation]    A lab host in the feed reaches the device; a benign peer talks to it in the same window.
    [Arguments]    ${kind}    ${ipv6}    ${host}
    Start Detection Lab
    Add Lab Host    ${host}    malicious
    ${peer}=    Lab Host Address    ${host}    ipv6=${ipv6}
    IF    '${kind}' == 'ping'
        Send Traffic    ping    ${host}    ${DEVICE_ID}    ipv6=${ipv6}    count=2
    ELSE IF    '${kind}' == 'udp'
        Send Traffic    udp    ${host}    ${DEVICE_ID}    ipv6=${ipv6}    dport=7    count=2    expect_reply=True
    ELSE
        Send Traffic    tcp    ${host}    ${DEVICE_ID}    ipv6=${ipv6}    dport=7    size=64
    END
    Send Traffic    udp    peer1    ${DEVICE_ID}    ipv6=${ipv6}    dport=7    count=1    expect_reply=True
    ${alert}=    Wait For Alert    ${TI}    device=${DEVICE_ID}    peer=${peer}    timeout=${ALERT_BOUND}
    Should Be Equal    ${alert}[severity]    Medium
    Should Be Equal    ${alert}[name]    Communication with a suspicious IP address detected
    Should Not Be Empty    ${alert}[indicator]
    Should Not Be Empty    ${alert}[source]
    No Threat Alert For The Benign Side

Outbound Traffic Raises A Threat Alert
    [Documentation]    The device itself (as if compromised) contacts the lab's C2 host.
    [Arguments]    ${command}    ${ipv6}
    Start Detection Lab
    ${c2}=    Lab Host Address    c2    ipv6=${ipv6}
    ${cmd}=    Evaluate    $command.format(c2=$c2)
    Execute Command On Device    ${cmd}
    Send Traffic    udp    peer1    ${DEVICE_ID}    ipv6=${ipv6}    dport=7    count=1    expect_reply=True
    ${alert}=    Wait For Alert    ${TI}    device=${DEVICE_ID}    peer=${c2}    timeout=${ALERT_BOUND}
    Should Be Equal    ${alert}[severity]    Medium
    No Threat Alert For The Benign Side
