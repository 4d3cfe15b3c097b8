*** Settings ***
Documentation     What NetworkActivity records say about known traffic (spec §1.3, §1.4). The oracle
...               is the device's own pcap: for every flow with the test's peer, the byte totals in
...               the security messages must equal the transport bytes on the wire, counted by the
...               real module's rules. Totals are summed over windows, so the comparison is exact.
Resource          conformance.resource
Test Tags         conformance    spec:1.3

*** Test Cases ***
UDP Over IPv4 Is Counted Exactly And Both Directions Merge
    [Tags]    spec:1.4
    Start Conformance Device
    ${peer}=    Lab Host Address    peer1
    Send Traffic    udp    peer1    ${DEVICE_ID}    dport=7    sport=40001    size=100    count=3    expect_reply=True
    Flows Should Match The Wire    ${peer}
    ${records}=    Records For Remote    ${peer}
    One Record Per Window Holding Both Directions    ${records}

UDP Over IPv6 Is Counted Exactly
    Start Conformance Device
    ${peer}=    Lab Host Address    peer1    ipv6=True
    Send Traffic    udp    peer1    ${DEVICE_ID}    ipv6=True    dport=7    sport=40002    size=60    count=2    expect_reply=True
    Flows Should Match The Wire    ${peer}

TCP Over IPv4 Is Counted Exactly
    Start Conformance Device
    ${peer}=    Lab Host Address    peer1
    Send Traffic    tcp    peer1    ${DEVICE_ID}    dport=7    sport=40003    size=300    count=2
    Flows Should Match The Wire    ${peer}
    ${records}=    Records For Remote    ${peer}
    Should Be Equal As Integers    ${records}[0][local_port]    7
    Should Be Equal As Integers    ${records}[0][remote_port]    40003

TCP Over IPv6 Is Counted Exactly
    Start Conformance Device
    ${peer}=    Lab Host Address    peer1    ipv6=True
    Send Traffic    tcp    peer1    ${DEVICE_ID}    ipv6=True    dport=7    sport=40004    size=500
    Flows Should Match The Wire    ${peer}

TCP To A Closed Port Is Counted Inbound With The Reset Outbound
    Start Conformance Device
    ${attacker}=    Lab Host Address    attacker1
    Send Traffic    tcp    attacker1    ${DEVICE_ID}    dport=9    sport=40005    size=10
    Flows Should Match The Wire    ${attacker}

ICMP Echo Over IPv4 Is Counted With Ports 0
    Start Conformance Device
    ${attacker}=    Lab Host Address    attacker1
    Send Traffic    ping    attacker1    ${DEVICE_ID}    count=3    size=100
    Flows Should Match The Wire    ${attacker}
    ${records}=    Records For Remote    ${attacker}
    FOR    ${r}    IN    @{records}
        Should Be Equal    ${r}[protocol]    ICMP
        Should Be Equal As Integers    ${r}[local_port]    0
        Should Be Equal As Integers    ${r}[remote_port]    0
    END

Inbound ICMPv6 Is Not Counted But Outbound Is
    Start Conformance Device
    ${attacker}=    Lab Host Address    attacker1    ipv6=True
    Send Traffic    ping    attacker1    ${DEVICE_ID}    ipv6=True    count=3    size=40
    Flows Should Match The Wire    ${attacker}
    ${records}=    Records For Remote    ${attacker}
    ${in}=    Evaluate    sum(r['bytes_in'] for r in $records)
    ${out}=    Evaluate    sum(r['bytes_out'] for r in $records)
    Should Be Equal As Integers    ${in}    0    inbound ICMPv6 (echo requests) must not be counted
    Should Be Equal As Integers    ${out}    ${3 * 48}    three echo replies of 8 + 40 bytes go out

IPv6 Extension Headers Are Walked
    Start Conformance Device
    ${peer}=    Lab Host Address    peer1    ipv6=True
    Send Traffic    ipv6_ext_udp    peer1    ${DEVICE_ID}    ipv6=True    dport=7    sport=40006    size=30
    ...    ext=${{ ['hbh', 'dest'] }}    count=2
    Flows Should Match The Wire    ${peer}
    ${records}=    Records For Remote    ${peer}
    ${in}=    Evaluate    sum(r['bytes_in'] for r in $records)
    Should Be Equal As Integers    ${in}    ${2 * 38}    bytes are the UDP length, extension headers excluded

Outbound Connections From The Device Are Counted
    [Tags]    refdev
    Start Conformance Device
    ${c2}=    Lab Host Address    c2
    ${c2v6}=    Lab Host Address    c2    ipv6=True
    Execute Command On Device    tcp connect ${c2} 4444
    Wait For Line On Uart    tcp: 0 connected
    Execute Command On Device    tcp send 0 exfiltrated-data
    Wait For Line On Uart    tcp: 0 received 16 bytes
    Execute Command On Device    tcp close 0
    Execute Command On Device    udp send ${c2v6} 9999 beacon 3
    Wait For Line On Uart    udp: reply from
    Flows Should Match The Wire    ${{ [$c2, $c2v6] }}
    ${records}=    Records For Remote    ${c2}
    Should Be Equal As Integers    ${records}[0][remote_port]    4444

*** Keywords ***
One Record Per Window Holding Both Directions
    [Arguments]    ${records}
    ${seqs}=    Evaluate    [r['seq'] for r in $records]
    List Should Not Contain Duplicates    ${seqs}    a 5-tuple appears at most once per message
    FOR    ${r}    IN    @{records}
        Should Be True    ${r}[bytes_in] > 0 and ${r}[bytes_out] > 0    request and echo must share one record: ${r}
    END
