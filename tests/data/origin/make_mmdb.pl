#!/usr/bin/perl
# Writes the small MMDB files the origin tests read, with MaxMind's own
# writer (Debian libmaxmind-db-writer-perl), so that darklens's reader is
# checked against an independent implementation of the format:
#   asn.mmdb          GeoLite2-ASN layout, IPv6 tree with IPv4 inside
#   country.mmdb      ip-location-db layout (country_code), IPv4 tree
#   country-iso.mmdb  GeoLite2-Country layout (country.iso_code), IPv6 tree
# Run from this directory: perl make_mmdb.pl
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

sub write_tree {
    my ($file, $version, $type, $types, $nets) = @_;
    my $tree = MaxMind::DB::Writer::Tree->new(
        ip_version            => $version,
        record_size           => 24,
        database_type         => $type,
        languages             => ['en'],
        description           => { en => 'darklens test database' },
        map_key_type_callback => sub { $types->{ $_[0] } },
        remove_reserved_networks => 0,
        merge_strategy        => 'none',
    );
    $tree->insert_network(@$_) for @$nets;
    open my $fh, '>:raw', $file or die "$file: $!";
    $tree->write_tree($fh);
    close $fh;
}

write_tree('asn.mmdb', 6, 'GeoLite2-ASN',
    { autonomous_system_number => 'uint32', autonomous_system_organization => 'utf8_string' },
    [
        [ '1.0.0.0/24',     { autonomous_system_number => 13335, autonomous_system_organization => 'Cloudflare, Inc.' } ],
        [ '198.51.100.0/24', { autonomous_system_number => 64500, autonomous_system_organization => "Caf\x{e9} Net" } ],
        [ '198.51.100.128/25', { autonomous_system_number => 64501, autonomous_system_organization => 'Inner Block' } ],
        [ '203.0.113.0/24', { autonomous_system_number => 398324 } ],
        [ '2001:db8::/32',  { autonomous_system_number => 64502, autonomous_system_organization => 'Six Net' } ],
    ]);
write_tree('country.mmdb', 4, 'geo-whois-asn-country',
    { country_code => 'utf8_string' },
    [
        [ '1.0.0.0/24',      { country_code => 'AU' } ],
        [ '198.51.100.0/24', { country_code => 'FR' } ],
        [ '203.0.113.0/25',  { country_code => 'US' } ],
    ]);
write_tree('country-iso.mmdb', 6, 'GeoLite2-Country',
    { country => 'map', iso_code => 'utf8_string' },
    [
        [ '198.51.100.0/24', { country => { iso_code => 'DE' } } ],
        [ '2001:db8::/32',   { country => { iso_code => 'NL' } } ],
    ]);
