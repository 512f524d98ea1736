fn main() -> std::process::ExitCode {
    unweave::cli::main()
}
